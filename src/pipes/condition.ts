/**
 * `exec_if` conditions: jexl expressions over a plain-data copy of the flow.
 *
 * Config text is never JavaScript. On top of that, an expression is refused when it is built (so it
 * never runs) if it names anything that only makes sense as an escape attempt, reads a property
 * through a computed key, calls a transform we did not define, or starts from a root the flow does
 * not have. At run time it sees null-prototype copies, so even a missed path finds no prototype.
 */
import jexlModule from 'jexl';
import type { FlowContext } from './types.js';
import { toPlainData } from './plain-data.js';

export const CONDITION_ROOTS = ['exports', 'session', 'request', 'state', 'items', 'authenticator'] as const;

const MAX_LENGTH = 1000;

/** Words that may not appear anywhere in a condition, string literals included. */
const FORBIDDEN_WORD = /(?<![A-Za-z0-9_$])(constructor|__proto__|prototype|process|global\w*|require|Function|eval)(?![A-Za-z0-9_$])/;
/** Identifier names refused beyond the words above: anything dunder reaches Object.prototype helpers. */
const FORBIDDEN_NAME = /^__|^(constructor|prototype|process|global\w*|require|Function|eval)$/;

type Transform = (value: unknown, ...args: unknown[]) => unknown;

/** The only transforms an expression may call (`exports.mobile|startsWith('+46')`). */
const TRANSFORMS: Readonly<Record<string, Transform>> = {
  lower: (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  upper: (v) => (typeof v === 'string' ? v.toUpperCase() : v),
  startsWith: (v, prefix) => typeof v === 'string' && typeof prefix === 'string' && v.startsWith(prefix),
  endsWith: (v, suffix) => typeof v === 'string' && typeof suffix === 'string' && v.endsWith(suffix),
};

// A private instance: transforms another module adds to the shared jexl singleton do not reach us.
const jexl = new jexlModule.Jexl();
type Expression = ReturnType<typeof jexl.compile>;
type Ast = ReturnType<Expression['_getAst']>;
for (const [name, fn] of Object.entries(TRANSFORMS)) jexl.addTransform(name, fn);

export class ConditionError extends Error {
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
    this.name = 'ConditionError';
  }
}

export type ConditionOutcome = { ok: true; value: boolean } | { ok: false; error: unknown };

export interface Condition {
  readonly source: string;
  test(ctx: FlowContext): Promise<ConditionOutcome>;
}

/**
 * Why `expr` is not an acceptable condition, or null when it is. The config validator reports this
 * at start-up; compileCondition throws it.
 */
export function checkCondition(expr: unknown): string | null {
  const result = parse(expr);
  return typeof result === 'string' ? result : null;
}

export function compileCondition(expr: string): Condition {
  const parsed = parse(expr);
  if (typeof parsed === 'string') throw new ConditionError(parsed, expr);
  const expression = parsed;
  return {
    source: expr,
    async test(ctx) {
      try {
        const scope = toPlainData(
          {
            exports: ctx.exports,
            session: ctx.session,
            request: ctx.request,
            state: ctx.state,
            items: ctx.items,
            authenticator: { id: ctx.authenticator.id, type: ctx.authenticator.type },
          },
          { nullPrototype: true },
        ) as Record<string, unknown>;
        const value: unknown = await expression.eval(scope);
        return { ok: true, value: Boolean(value) };
      } catch (error) {
        return { ok: false, error };
      }
    },
  };
}

function parse(expr: unknown): Expression | string {
  if (typeof expr !== 'string') return 'exec_if must be a string';
  if (expr.trim() === '') return 'exec_if is empty';
  if (expr.length > MAX_LENGTH) return `exec_if is longer than ${MAX_LENGTH} characters`;
  const word = FORBIDDEN_WORD.exec(expr);
  if (word) return `exec_if may not use "${word[1]}"`;
  let expression: Expression;
  try {
    expression = jexl.compile(expr);
  } catch (error) {
    return `exec_if does not parse: ${error instanceof Error ? error.message : String(error)}`;
  }
  const problem = checkAst(expression._getAst());
  return problem ?? expression;
}

function checkAst(ast: Ast | undefined): string | null {
  if (!ast) return null;
  switch (ast.type) {
    case 'Literal':
      return null;
    case 'Identifier':
      if (FORBIDDEN_NAME.test(ast.value)) return `exec_if may not use "${ast.value}"`;
      // `null` is no jexl literal: as a bare name it reads nothing, so `exports.mobile != null` means "is set".
      if (!ast.from && !ast.relative && ast.value === 'null') return null;
      if (!ast.from && !ast.relative && !(CONDITION_ROOTS as readonly string[]).includes(ast.value)) {
        return `exec_if: unknown name "${ast.value}" (start from one of ${CONDITION_ROOTS.join(', ')})`;
      }
      return checkAst(ast.from);
    case 'UnaryExpression':
      return checkAst(ast.right);
    case 'BinaryExpression':
      return checkAst(ast.left) ?? checkAst(ast.right);
    case 'ConditionalExpression':
      return checkAst(ast.test) ?? checkAst(ast.consequent) ?? checkAst(ast.alternate);
    case 'FilterExpression':
      // A static filter with a computed key is a way to build any property name at run time.
      if (!ast.relative && ast.expr.type !== 'Literal') {
        return 'exec_if: a [] key must be a literal (or a relative filter such as items[.kind == "sms"])';
      }
      if (!ast.relative && ast.expr.type === 'Literal' && typeof ast.expr.value === 'string') {
        if (FORBIDDEN_NAME.test(ast.expr.value)) return `exec_if may not use "${ast.expr.value}"`;
      }
      return checkAst(ast.subject) ?? checkAst(ast.expr);
    case 'ArrayLiteral':
      for (const item of ast.value) {
        const problem = checkAst(item);
        if (problem) return problem;
      }
      return null;
    case 'ObjectLiteral':
      for (const [key, item] of Object.entries(ast.value)) {
        if (FORBIDDEN_NAME.test(key)) return `exec_if may not use "${key}"`;
        const problem = checkAst(item);
        if (problem) return problem;
      }
      return null;
    case 'FunctionCall':
      if (ast.pool !== 'transforms' || !Object.prototype.hasOwnProperty.call(TRANSFORMS, ast.name)) {
        return `exec_if: unknown function "${ast.name}" (transforms: ${Object.keys(TRANSFORMS).join(', ')})`;
      }
      for (const arg of ast.args ?? []) {
        const problem = checkAst(arg);
        if (problem) return problem;
      }
      return null;
    default:
      return 'exec_if: unsupported expression';
  }
}
