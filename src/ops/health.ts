import express, { type Router } from 'express';
import type { TransactionStore } from '../store/types.js';

/** `/healthz`: the process answers. `/readyz`: the store answers too (a load balancer stops sending traffic). */
export function createHealthRouter(store: TransactionStore): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  router.get('/readyz', async (_req, res) => {
    const ok = await store.ping();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable' });
  });
  return router;
}
