/**
 * Self-test of test/support/redis-topology.ts (issue 25): a Redis Cluster and a Sentinel group on loopback, each
 * through one fail-over with the `redis` package's own clients, then stopped without a trace (no process, no temp dir).
 *
 * The cluster fail-over is `CLUSTER FAILOVER FORCE` on the replica right after the SIGKILL of its master (a plain
 * `CLUSTER FAILOVER` needs the master to answer); the automatic one would take about 2 node time-outs (4 s here).
 * The Sentinel fail-over is the automatic one (down-after 1 s).
 *
 * What node-redis 5 (5.12) does meanwhile, as this test shows (REDIS_TOPOLOGY_DEBUG=1 prints the times):
 * - createCluster re-reads the slots only on a MOVED or ASK reply. After its master is killed, commands for a slot go
 *   to the dead node's client, which reconnects forever: the command in flight fails (SocketClosedUnexpectedlyError),
 *   later ones wait in its offline queue, without end unless the command has a `timeout` (then TimeoutError), and
 *   still after the fail-over. One MOVED reply (here: a GET of the key sent to another master) makes it re-read the
 *   slots, drop the dead node's client (what still waited there fails with DisconnectsClientError), and the key
 *   answers again.
 * - createSentinel follows the fail-over by itself (Sentinel's +switch-master and friends): a write sent while the
 *   master is down waits and succeeds on the new master.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createCluster, createSentinel } from 'redis';
import { requireTopologyOrSkip, startCluster, startSentinel, type RedisClusterTopology, type RedisSentinelTopology } from '../support/redis-topology.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** How a promise ended within `ms`: `value <v>`, the error's class (node-redis errors keep `name` 'Error'), or 'pending'. */
async function outcome(p: Promise<unknown>, ms: number): Promise<string> {
  const timer = new Promise<string>((r) => setTimeout(() => r('pending'), ms).unref());
  return Promise.race([p.then((v) => `value ${String(v)}`, (e: unknown) => (e instanceof Error ? e.constructor.name : String(e))), timer]);
}

const verbose = process.env.REDIS_TOPOLOGY_DEBUG === '1';
const note = (line: string): void => {
  if (verbose) console.log(`      ${line}`);
};

describe('Redis topologies on loopback for tests (issue 25)', function () {
  this.timeout(60000);

  before(function () {
    requireTopologyOrSkip(this, 'a Redis Cluster and a Sentinel group');
  });

  it('a cluster of 3 masters and 3 replicas: keys of every master, SIGKILL of one master, FAILOVER FORCE, the same client reads again; stop leaves nothing', async function () {
    const cluster: RedisClusterTopology = await startCluster();
    note(`cluster healthy in ${cluster.startMs} ms`);
    const client = createCluster({ rootNodes: cluster.rootNodes.map((url) => ({ url })) });
    client.on('error', () => undefined);
    client.on('node-error', () => undefined);
    try {
      assert.equal(cluster.nodes.length, 6);
      assert.equal(cluster.nodes.filter((n) => n.role === 'master').length, 3);
      await client.connect();

      const keys = Array.from({ length: 24 }, (_, i) => `topology:{${i}}:key`);
      for (const key of keys) {
        await client.set(key, `value of ${key}`);
        // Acknowledged by the replica before anything is killed (replication is asynchronous).
        assert.equal(await client.sendCommand(key, false, ['WAIT', '1', '2000']), 1);
      }
      const masters = new Map<number, string[]>();
      for (const key of keys) {
        const { port } = await cluster.masterOfKey(key);
        masters.set(port, [...(masters.get(port) ?? []), key]);
      }
      assert.equal(masters.size, 3, 'the keys are spread over the 3 masters');

      const key = keys[0] as string;
      const master = await cluster.masterOfKey(key);
      const replica = await cluster.replicaOf(master.port);
      const otherKey = keys.find((k) => !(masters.get(master.port) ?? []).includes(k)) as string;
      await cluster.kill(master.port);
      assert.equal(alive(master.pid), false);

      // The client does not notice by itself: the key's commands go to the dead node (one in flight fails, later ones
      // wait in its offline queue; bounded here by a timeout). `waiting` has none: it waits until the slots are re-read.
      const meanwhile = await outcome(client.withCommandOptions({ timeout: 500 }).get(key), 2000);
      note(`GET of the key after the kill, timeout 500 ms: ${meanwhile}`);
      assert.notEqual(meanwhile, `value value of ${key}`);
      const waiting = client.get(key);
      waiting.catch(() => undefined);
      assert.equal(await client.get(otherKey), `value of ${otherKey}`, 'the other masters answer meanwhile');

      const { tookMs } = await cluster.failover(replica.port);
      note(`CLUSTER FAILOVER FORCE: healthy again in ${tookMs} ms`);
      assert.equal((await cluster.masterOfKey(key)).port, replica.port);
      assert.equal(cluster.nodes.find((n) => n.port === replica.port)?.role, 'master');

      // Recorded, not asserted (a later node-redis may refresh its slots on connection errors): TimeoutError with 5.12.
      const stillStuck = await outcome(client.withCommandOptions({ timeout: 500 }).get(key), 2000);
      note(`GET of the key after the fail-over, same client, timeout 500 ms: ${stillStuck}`);

      // One MOVED reply makes node-redis re-read the slots: GET the key from a master that does not serve it. It is
      // redirected there again and again (MOVED after maxCommandRedirections), but the slots are right afterwards.
      const moved = await outcome(client.sendCommand(otherKey, true, ['GET', key]), 5000);
      assert.equal(moved, 'SimpleError', `expected a MOVED error, got ${moved}`);
      assert.equal(await client.get(key), `value of ${key}`);
      // The GET that waited for the dead node without a timeout ends once its client is dropped (DisconnectsClientError).
      const released = await outcome(waiting, 1000);
      note(`GET queued for the dead node without a timeout, after the slots were re-read: ${released}`);
      assert.notEqual(released, 'pending');
      for (const k of keys) assert.equal(await client.get(k), `value of ${k}`, k);
      await client.set(key, 'written after the fail-over');
      assert.equal(await client.get(key), 'written after the fail-over');
    } finally {
      client.destroy();
      await cluster.stop();
    }
    assert.equal(existsSync(cluster.dir), false, 'the temp dir is removed');
    for (const node of cluster.nodes) assert.equal(alive(node.pid), false, `pid ${node.pid} (port ${node.port}) is gone`);
  });

  it('a Sentinel group of 1 master, 2 replicas and 3 sentinels: SIGKILL of the master, a new master, createSentinel writes to it; stop leaves nothing', async function () {
    const group: RedisSentinelTopology = await startSentinel();
    note(`Sentinel group ready in ${group.startMs} ms`);
    const client = createSentinel({ name: group.name, sentinelRootNodes: group.sentinelRootNodes });
    client.on('error', () => undefined);
    try {
      assert.deepEqual(group.nodes.map((n) => n.role), ['master', 'replica', 'replica', 'sentinel', 'sentinel', 'sentinel']);
      assert.deepEqual(group.sentinels, group.sentinelRootNodes.map((n) => `redis://127.0.0.1:${n.port}`));
      await client.connect();
      await client.set('topology:sentinel:before', 'one');
      assert.equal(await client.sendCommand(false, ['WAIT', '2', '2000']), 2);

      const old = await group.master();
      assert.equal(old.port, group.nodes[0]?.port);
      await group.kill(old.port);
      assert.equal(alive(old.pid), false);
      const start = Date.now();
      const write = client.set('topology:sentinel:during', 'two');
      write.catch(() => undefined);

      const next = await group.waitForNewMaster(old.port, 20000);
      note(`new master ${next.port} ${next.tookMs} ms after the kill`);
      assert.notEqual(next.port, old.port);
      assert.equal((await group.master()).port, next.port);

      assert.equal(await write, 'OK');
      note(`the write sent while the master was down answered ${Date.now() - start} ms after the kill`);
      assert.equal(await client.set('topology:sentinel:after', 'three'), 'OK');
      assert.deepEqual(
        await Promise.all(['before', 'during', 'after'].map((k) => client.get(`topology:sentinel:${k}`))),
        ['one', 'two', 'three'],
      );
    } finally {
      client.destroy();
      await group.stop();
    }
    assert.equal(existsSync(group.dir), false, 'the temp dir is removed');
    for (const node of group.nodes) assert.equal(alive(node.pid), false, `pid ${node.pid} (port ${node.port}) is gone`);
  });
});
