/**
 * The OTP report of each provider session's latest login, for the `otp_report` claim. Kept with the provider's own
 * records (its adapter: Redis when the store is) under the session's uid, which the tokens carry; in memory
 * otherwise. Replaced, or cleared, at every login of the session.
 */
export interface ReportStore {
  set(sessionUid: string, report: unknown, ttlSeconds: number): Promise<void>;
  get(sessionUid: string): Promise<unknown>;
  clear(sessionUid: string): Promise<void>;
}

interface AdapterLike {
  upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<unknown>;
  find(id: string): Promise<Record<string, unknown> | undefined | void>;
  destroy(id: string): Promise<unknown>;
}

export function reportStore(Adapter?: new (name: string) => AdapterLike, now: () => number = Date.now): ReportStore {
  if (Adapter) {
    const adapter = new Adapter('OtpReport');
    return {
      set: async (uid, report, ttl) => void (await adapter.upsert(uid, { report }, ttl)),
      get: async (uid) => (await adapter.find(uid))?.report,
      clear: async (uid) => void (await adapter.destroy(uid)),
    };
  }
  const held = new Map<string, { report: unknown; until: number }>();
  return {
    async set(uid, report, ttl) {
      for (const [k, v] of held) if (v.until <= now()) held.delete(k);
      held.set(uid, { report, until: now() + ttl * 1000 });
    },
    async get(uid) {
      const v = held.get(uid);
      return v && v.until > now() ? v.report : undefined;
    },
    async clear(uid) {
      held.delete(uid);
    },
  };
}
