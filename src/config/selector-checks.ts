import { checkCondition } from '../pipes/condition.js';
import { mountPath } from './mount-path.js';

/**
 * The checks of Selector blocks a schema cannot make: every choice names an authenticator that is one step (not
 * the selector itself nor a Chain around it: a cycle), belongs to this selector only and is not also a chain's
 * step; `available_if` parses; `default` is one of the choices. Warnings: a choice's own path is ignored.
 */
interface PathProblem { path: string; message: string }
interface RawAuthenticator { id: string; type: string; config: Record<string, unknown> }
interface RawChoice { id: string; available_if?: string }

const GROUPS = new Set(['Chain', 'Selector']);
const OTP_TYPES = new Set(['OTP', 'OTPAuthenticator', 'OTPValidator']);

/** The authenticator ids a Chain contains, through nested chains and selectors. */
function containedBy(byId: Map<string, RawAuthenticator>, id: string, seen = new Set<string>()): Set<string> {
  const a = byId.get(id);
  if (!a || seen.has(id)) return seen;
  seen.add(id);
  const c = a.config as { chain?: { id: string }[]; choices?: { id: string }[] };
  for (const step of [...(c.chain ?? []), ...(c.choices ?? [])]) containedBy(byId, step.id, seen);
  return seen;
}

export function checkSelectors(authenticators: RawAuthenticator[]): { problems: PathProblem[]; warnings: PathProblem[] } {
  const problems: PathProblem[] = [];
  const warnings: PathProblem[] = [];
  const byId = new Map(authenticators.map((a) => [a.id, a]));
  const owner = new Map<string, string>();
  const chainSteps = new Set(authenticators.filter((a) => a.type === 'Chain')
    .flatMap((a) => ((a.config as { chain?: { id: string }[] }).chain ?? []).map((s) => s.id)));
  authenticators.forEach((a, i) => {
    if (a.type !== 'Selector') return;
    const at = `authenticators[${i}].config`;
    const choices = (a.config.choices ?? []) as RawChoice[];
    const seen = new Set<string>();
    choices.forEach((choice, c) => {
      const path = `${at}.choices[${c}]`;
      const target = byId.get(choice.id);
      if (seen.has(choice.id)) problems.push({ path: `${path}.id`, message: `"${choice.id}" is already a choice of this selector` });
      seen.add(choice.id);
      if (choice.id === a.id) {
        problems.push({ path: `${path}.id`, message: 'a selector cannot choose itself (a cycle)' });
      } else if (!target) {
        problems.push({ path: `${path}.id`, message: `no authenticator has id "${choice.id}"` });
      } else if (GROUPS.has(target.type)) {
        const cycle = containedBy(byId, choice.id).has(a.id);
        problems.push({ path: `${path}.id`, message: cycle
          ? `"${choice.id}" is a ${target.type} that contains this selector (a cycle)`
          : `"${choice.id}" is a ${target.type}: a choice must be a single step (OTP, UserNameAndPassword or a registered type)` });
      } else {
        const first = owner.get(choice.id);
        if (first !== undefined && first !== a.id) problems.push({ path: `${path}.id`, message: `"${choice.id}" is already a choice of the selector "${first}"; an authenticator belongs to one selector` });
        else owner.set(choice.id, a.id);
        if (chainSteps.has(choice.id)) problems.push({ path: `${path}.id`, message: `"${choice.id}" is also a step of a chain; put the selector "${a.id}" in the chain instead` });
        const own = target.config as { base_path?: string; context_path?: string };
        const index = authenticators.indexOf(target);
        if (own.context_path !== undefined || own.base_path !== undefined) {
          warnings.push({ path: `authenticators[${index}].config.${own.context_path !== undefined ? 'context_path' : 'base_path'}`, message: `ignored: "${choice.id}" is a choice of the selector "${a.id}" and is served under it, at ${mountPath(a).replace(/\/+$/, '')}/${choice.id}` });
        }
      }
      if (choice.available_if !== undefined) {
        const problem = checkCondition(choice.available_if);
        if (problem) problems.push({ path: `${path}.available_if`, message: problem.replace(/^exec_if/, 'available_if') });
      }
    });
    // One login, one budget: the OTP choices must name the same subject and allow the same number of entries, or
    // each would count (and lock) on its own and switching would buy guesses.
    const otps = choices.map((choice, c) => ({ c, target: byId.get(choice.id) }))
      .filter((x) => x.target !== undefined && OTP_TYPES.has(x.target.type));
    const first = otps[0];
    for (const key of ['subject', 'allowed_otp_retry'] as const) {
      for (const other of otps.slice(1)) {
        if (first && other.target!.config[key] !== first.target!.config[key]) {
          problems.push({ path: `${at}.choices[${other.c}].id`, message: `"${other.target!.id}" has ${key} ${JSON.stringify(other.target!.config[key])}, "${first.target!.id}" ${JSON.stringify(first.target!.config[key])}: the OTP choices of a selector share one attempt budget, so they need the same ${key}` });
        }
      }
    }
    const def = a.config.default;
    if (typeof def === 'string' && !choices.some((c) => c.id === def)) {
      problems.push({ path: `${at}.default`, message: `"${def}" is not one of the choices (${choices.map((c) => c.id).join(', ')})` });
    }
  });
  return { problems, warnings };
}
