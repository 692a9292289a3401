import type { FlowContext, ValveResult } from '../pipes/types.js';

/**
 * Every delivery valve calls this first: the authenticator's send budgets are checked once the destination is
 * known, and a refusal fails the flow before anything reaches a gateway.
 */
export async function guardDelivery(ctx: FlowContext): Promise<ValveResult> {
  const destination = ctx.state.destination;
  if (!destination || !ctx.hooks?.beforeDelivery) return undefined;
  const refused = await ctx.hooks.beforeDelivery(destination);
  return refused ? { fail: refused } : undefined;
}
