/**
 * TOTP replay guard in one process's memory: the memory store's, and the TotpValidate valve's own when it runs
 * without a store (a pipe built alone). The Redis store keeps the same record in Redis (CLAIM_TOTP_STEP), so every
 * process of a deployment refuses a code one of them accepted.
 */
interface UsedStep {
  step: number;
  /** When no window can accept the step any more, so the entry may go (ms). */
  forgetAt: number;
}

const PRUNE_ABOVE = 10_000;

export class UsedTotpSteps {
  private readonly used = new Map<string, UsedStep>();

  /** Records `step` for `key` unless it or a later step is recorded: true when this call recorded it. */
  claim(key: string, step: number, forgetAt: number, now: number): boolean {
    const used = this.used.get(key);
    if (used && used.forgetAt > now && used.step >= step) return false;
    if (this.used.size > PRUNE_ABOVE) {
      for (const [k, u] of this.used) if (u.forgetAt <= now) this.used.delete(k);
    }
    this.used.set(key, { step, forgetAt });
    return true;
  }

  clear(): void {
    this.used.clear();
  }
}
