/**
 * Real Redis topologies on loopback for tests (issue 25): a Redis Cluster of three masters with one replica each
 * (`startCluster`) and a Sentinel group of one master, two replicas and three sentinels (`startSentinel`).
 *
 * Every process is a `redis-server` child process of this test run on 127.0.0.1, on ports picked at random in
 * 20000-31999 and checked free (for a cluster node also its bus port, port + 10000), never 6379 or 26379. Its data,
 * configuration and stdout/stderr log live in a temp dir of the topology. `stop()` SIGKILLs exactly the processes it
 * started, waits until they have exited and removes the temp dir. A `process.on('exit')` hook (and SIGINT, SIGTERM,
 * SIGHUP hooks that re-raise the signal when nothing else listens) kills what is left, synchronously, so a crashed or
 * interrupted run leaves no servers and no temp dirs behind; only a SIGKILL of the test run itself can.
 *
 * Set-up and health checks use `redis-cli -e` (one short child process per call, a 3 s time-out each); waits poll
 * every 50-100 ms and give up after `timeoutMs` (30 s unless told) with an error that ends with the tail of every
 * server log.
 *
 * Replication is asynchronous: a test that kills a master should make its writes WAIT for the replicas first (the
 * self-test does), else an acknowledged write can be lost by the fail-over. Cluster nodes and the Sentinel group's
 * master use `repl-diskless-sync-delay 0`, so replicas sync at once; each sentinel's configuration names the replicas
 * and the other sentinels (as Sentinel itself writes them), so they know each other without waiting for hello
 * messages (2 s) or the master's next INFO (10 s).
 *
 * Suites call `requireTopologyOrSkip(this, 'a Redis Cluster')` in a `before`: without `redis-server`/`redis-cli` on
 * PATH the suite is skipped with one line saying so, or fails when REQUIRE_REDIS=1 (as the suites of test/support/redis.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const HOST = '127.0.0.1';

export type NodeRole = 'master' | 'replica' | 'sentinel';

/** A process of a topology. `role` is what it was at start (updated by the cluster's `failover`). */
export interface TopologyNode {
  readonly port: number;
  readonly pid: number;
  role: NodeRole;
}

export interface PortAndPid {
  port: number;
  pid: number;
}

export interface ClusterOptions {
  /** `--cluster-node-timeout` in ms (default 2000). */
  nodeTimeoutMs?: number;
  /** Overall time-out of the start and of each wait, in ms (default 30000). */
  timeoutMs?: number;
}

export interface RedisClusterTopology {
  /** `redis://127.0.0.1:<port>` of all six nodes. */
  readonly rootNodes: string[];
  readonly nodes: TopologyNode[];
  /** The temp dir holding configurations, node files and logs (gone after `stop`). */
  readonly dir: string;
  /** How long the start took, in ms. */
  readonly startMs: number;
  /** The master serving the key's slot now (CLUSTER KEYSLOT + CLUSTER NODES on a live node). */
  masterOfKey(key: string): Promise<PortAndPid>;
  /** The live replica of a master (CLUSTER NODES). */
  replicaOf(masterPort: number): Promise<PortAndPid>;
  /** Sends `signal` to the node's process; for signals that end it, resolves once it has exited. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * `CLUSTER FAILOVER FORCE` on the replica (TAKEOVER if FORCE has not worked within 3 node time-outs, or at once
   * with `mode: 'TAKEOVER'`); resolves once the replica says it is master, every live node says `cluster_state:ok`
   * and sees it as the master of its slots. Nothing is sent when it already is master (an automatic fail-over).
   */
  failover(replicaPort: number, opts?: { mode?: 'FORCE' | 'TAKEOVER'; timeoutMs?: number }): Promise<PortAndPid & { tookMs: number }>;
  /** Waits until every live node says `cluster_state:ok` and agrees on the masters (after an automatic fail-over). */
  waitForClusterOk(timeoutMs?: number): Promise<number>;
  /** The last lines of every server log (for failure messages). */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export interface SentinelOptions {
  /** `sentinel down-after-milliseconds` (default 1000). */
  downAfterMs?: number;
  /** `sentinel failover-timeout` (default 5000). */
  failoverTimeoutMs?: number;
  /** Overall time-out of the start and of each wait, in ms (default 30000). */
  timeoutMs?: number;
}

export interface RedisSentinelTopology {
  readonly name: 'mymaster';
  /** `redis://127.0.0.1:<port>` of the three sentinels. */
  readonly sentinels: string[];
  /** The same as `{ host, port }`, the shape `createSentinel({ sentinelRootNodes })` takes. */
  readonly sentinelRootNodes: Array<{ host: string; port: number }>;
  /** Master, replicas and sentinels. */
  readonly nodes: TopologyNode[];
  readonly dir: string;
  readonly startMs: number;
  /** The master as a live sentinel says (SENTINEL get-master-addr-by-name). */
  master(): Promise<PortAndPid>;
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Waits until every live sentinel names a master other than `oldPort` and that server says it is master.
   * Default time-out 20000 ms.
   */
  waitForNewMaster(oldPort: number, timeoutMs?: number): Promise<PortAndPid & { tookMs: number }>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Availability and skipping

let available: boolean | undefined;

function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Whether `redis-server` and `redis-cli` are on PATH. */
export function redisServerAvailable(): boolean {
  available ??= onPath('redis-server') && onPath('redis-cli');
  return available;
}

let saidSkipped = false;

/**
 * In a `before`/`it`: returns when redis-server and redis-cli are on PATH; otherwise throws when REQUIRE_REDIS=1, else
 * skips (`ctx.skip()`), saying so once per run.
 */
export function requireTopologyOrSkip(ctx: Mocha.Context, what: string): void {
  if (redisServerAvailable()) return;
  const reason = `redis-server/redis-cli are not on PATH: cannot start ${what}`;
  if (process.env.REQUIRE_REDIS === '1') throw new Error(`${reason}, and REQUIRE_REDIS=1`);
  if (!saidSkipped) console.log(`  ${reason}: the Redis topology suites were skipped (REQUIRE_REDIS=1 makes this a failure)`);
  saidSkipped = true;
  ctx.skip();
}

// ---------------------------------------------------------------------------------------------------------------
// Safety net: what is still running when the test process ends is killed, temp dirs removed

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let safetyNetInstalled = false;

function cleanUpSync(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  liveDirs.clear();
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', cleanUpSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanUpSync();
      // Nobody else handles it: the default action (end the process with this signal).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

/** REDIS_TOPOLOGY_DEBUG=1 prints what each wait is waiting for. */
const DEBUG = process.env.REDIS_TOPOLOGY_DEBUG === '1';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class PortInUseError extends Error {}

const reservedPorts = new Set<number>([6379, 26379, 16379, 36379]);

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `count` ports in 20000-31999 that nobody listens on (with `bus`, port + 10000 as well), reserved for this process. */
async function pickPorts(count: number, bus: boolean): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < count; tries += 1) {
    if (tries > 2000) throw new Error('no free ports found in 20000-31999');
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (reservedPorts.has(port) || (bus && reservedPorts.has(port + 10000))) continue;
    if (!(await canListen(port)) || (bus && !(await canListen(port + 10000)))) continue;
    reservedPorts.add(port);
    if (bus) reservedPorts.add(port + 10000);
    out.push(port);
  }
  return out;
}

function releasePorts(ports: number[], bus: boolean): void {
  for (const p of ports) {
    reservedPorts.delete(p);
    if (bus) reservedPorts.delete(p + 10000);
  }
}

/** Runs redis-cli with `-e` (an error reply is a failure); resolves with stdout (trailing newline dropped). */
export function redisCli(args: string[], timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-e', ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${(stdout + stderr).trim() || err.message}`));
      else resolve(stdout.replace(/\r/g, '').replace(/\n$/, ''));
    });
  });
}

/** One command to the server on `port`. */
function call(port: number, ...args: string[]): Promise<string> {
  return redisCli(['-h', HOST, '-p', String(port), ...args]);
}

/** `key:value` lines (INFO, CLUSTER INFO) as a map. */
function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** A flat key/value reply printed one item a line (SENTINEL MASTER) as a map. */
function pairs(text: string): Map<string, string> {
  const lines = text.split('\n');
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) out.set(lines[i] ?? '', lines[i + 1] ?? '');
  return out;
}

/** An array of flat key/value replies (SENTINEL REPLICAS, SENTINEL SENTINELS): redis-cli prints them as one list; each starts with `name`. */
function listOfPairs(text: string): Array<Map<string, string>> {
  const out: Array<Map<string, string>> = [];
  if (text === '') return out;
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const key = lines[i] ?? '';
    if (key === 'name' || out.length === 0) out.push(new Map());
    out[out.length - 1]?.set(key, lines[i + 1] ?? '');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// A group of redis-server processes sharing a temp dir

interface Proc {
  port: number;
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
  running: boolean;
  log: string;
}

const ENDING: ReadonlySet<string> = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGABRT', 'SIGSEGV']);

class ProcessGroup {
  readonly dir: string;
  readonly procs = new Map<number, Proc>();
  private stopped = false;

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    liveDirs.add(this.dir);
    installSafetyNet();
  }

  /** Spawns `redis-server args`, stdout and stderr appended to `<dir>/<label>-<port>.log`. */
  spawn(port: number, label: string, args: string[]): Proc {
    if (this.stopped) throw new Error('topology already stopped');
    const log = join(this.dir, `${label}-${port}.log`);
    const fd = openSync(log, 'a');
    let child: ChildProcess;
    try {
      child = spawn('redis-server', args, { stdio: ['ignore', fd, fd], cwd: this.dir });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new Error(`redis-server could not be started (is it on PATH?)`);
    liveChildren.add(child);
    const proc: Proc = {
      port,
      child,
      pid: child.pid,
      running: true,
      log,
      exited: new Promise<void>((resolve) => {
        child.once('exit', () => {
          proc.running = false;
          liveChildren.delete(child);
          resolve();
        });
      }),
    };
    child.on('error', () => undefined);
    this.procs.set(port, proc);
    return proc;
  }

  pid(port: number): number {
    const proc = this.procs.get(port);
    if (!proc) throw new Error(`no process of this topology on port ${port}`);
    return proc.pid;
  }

  livePorts(ports?: Iterable<number>): number[] {
    const out: number[] = [];
    for (const port of ports ?? this.procs.keys()) if (this.procs.get(port)?.running) out.push(port);
    return out;
  }

  /** Resolves once the server on `port` answers PING; throws if it exits first. */
  async waitForPing(port: number, deadline: number): Promise<void> {
    const proc = this.procs.get(port);
    for (;;) {
      if (proc && !proc.running) {
        const log = existsSync(proc.log) ? readFileSync(proc.log, 'utf8') : '';
        if (/Address already in use/i.test(log)) throw new PortInUseError(`port ${port} was taken meanwhile`);
        throw new Error(`redis-server on port ${port} exited during the start${this.tailText()}`);
      }
      try {
        if ((await call(port, 'PING')) === 'PONG') return;
      } catch {
        // not yet listening
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING${this.tailText()}`);
      await sleep(25);
    }
  }

  async kill(port: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.procs.get(port);
    if (!proc) throw new Error(`no process of this topology on port ${port}`);
    if (!proc.running) return;
    proc.child.kill(signal);
    if (ENDING.has(signal)) await proc.exited;
  }

  logTail(lines = 12): string {
    if (!existsSync(this.dir)) return '(logs already removed)';
    const parts: string[] = [];
    for (const name of readdirSync(this.dir).filter((n) => n.endsWith('.log')).sort()) {
      const text = readFileSync(join(this.dir, name), 'utf8').trimEnd().split('\n');
      parts.push(`--- ${name} (last ${Math.min(lines, text.length)} lines)\n${text.slice(-lines).join('\n')}`);
    }
    return parts.join('\n');
  }

  tailText(): string {
    return `\n${this.logTail()}`;
  }

  /** Polls `check` (true: done) every `everyMs` until `timeoutMs`; then throws with the last reason and the logs. */
  async until(what: string, timeoutMs: number, check: () => Promise<true | string>, everyMs = 50): Promise<number> {
    const start = Date.now();
    let last = '';
    for (;;) {
      try {
        const r = await check();
        if (r === true) {
          if (DEBUG) console.log(`[redis-topology] ${what}: ${Date.now() - start} ms`);
          return Date.now() - start;
        }
        if (DEBUG && r !== last) console.log(`[redis-topology] ${what} +${Date.now() - start} ms: ${r}`);
        last = r;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last})${this.tailText()}`);
      await sleep(everyMs);
    }
  }

  /** SIGKILLs every process still running, waits for them, removes the temp dir. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const proc of this.procs.values()) {
      if (proc.running) proc.child.kill('SIGKILL');
    }
    await Promise.all([...this.procs.values()].map((p) => p.exited));
    rmSync(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }
}

/** Runs `attempt` again (new ports) when a port it picked was taken by someone else in the meantime. */
async function retryOnPortClash<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i += 1) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof PortInUseError) || i >= 3) throw err;
    }
  }
}

const COMMON_ARGS = (dir: string): string[] => [
  '--bind', HOST,
  '--save', '',
  '--appendonly', 'no',
  '--dir', dir,
  '--daemonize', 'no',
  // Replicas sync at once (the default waits 5 s for more replicas before a diskless sync).
  '--repl-diskless-sync-delay', '0',
];

// ---------------------------------------------------------------------------------------------------------------
// Cluster

interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string | null;
  linkState: string;
  slots: Array<[number, number]>;
}

/** Parses CLUSTER NODES. */
function parseClusterNodes(text: string): ClusterNodeLine[] {
  const out: ClusterNodeLine[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(' ');
    if (parts.length < 8) continue;
    const [id, addr, flags, master, , , , linkState, ...slots] = parts as [string, string, string, string, string, string, string, string, ...string[]];
    const port = Number(addr.split('@')[0]?.split(':').pop());
    const ranges: Array<[number, number]> = [];
    for (const s of slots) {
      if (s.startsWith('[')) continue; // importing/migrating
      const [a, b] = s.split('-');
      ranges.push([Number(a), Number(b ?? a)]);
    }
    out.push({ id, port, flags: flags.split(','), masterId: master === '-' ? null : master, linkState, slots: ranges });
  }
  return out;
}

const isFailing = (n: ClusterNodeLine): boolean => n.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr');
const isMaster = (n: ClusterNodeLine): boolean => n.flags.includes('master');
const isReplica = (n: ClusterNodeLine): boolean => n.flags.includes('slave');

export async function startCluster(opts: ClusterOptions = {}): Promise<RedisClusterTopology> {
  return retryOnPortClash(() => startClusterOnce(opts));
}

async function startClusterOnce(opts: ClusterOptions): Promise<RedisClusterTopology> {
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2000;
  const timeoutMs = opts.timeoutMs ?? 30000;
  const started = Date.now();
  const deadline = started + timeoutMs;
  const ports = await pickPorts(6, true);
  const group = new ProcessGroup('redis-cluster-');
  try {
    for (const port of ports) {
      group.spawn(port, 'redis', [
        '--port', String(port),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(group.dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(nodeTimeoutMs),
        ...COMMON_ARGS(group.dir),
      ]);
    }
    await Promise.all(ports.map((p) => group.waitForPing(p, deadline)));
    try {
      await redisCli(['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '1', '--cluster-yes'], Math.max(1000, deadline - Date.now()));
    } catch (err) {
      throw new Error(`redis-cli --cluster create failed: ${(err as Error).message}${group.tailText()}`);
    }
    await waitClusterHealthy(group, ports, 6, Math.max(0, deadline - Date.now()));
  } catch (err) {
    await group.stop();
    releasePorts(ports, true);
    throw err;
  }

  const nodes: TopologyNode[] = [];
  const view = parseClusterNodes(await call(ports[0] as number, 'CLUSTER', 'NODES'));
  for (const port of ports) {
    const line = view.find((n) => n.port === port);
    nodes.push({ port, pid: group.pid(port), role: line && isMaster(line) ? 'master' : 'replica' });
  }
  const startMs = Date.now() - started;

  const liveView = async (): Promise<{ port: number; view: ClusterNodeLine[] }> => {
    let lastErr: unknown;
    for (const port of group.livePorts(ports)) {
      try {
        return { port, view: parseClusterNodes(await call(port, 'CLUSTER', 'NODES')) };
      } catch (err) {
        lastErr = err;
      }
    }
    throw new Error(`no live cluster node answers: ${(lastErr as Error | undefined)?.message ?? 'all killed'}`);
  };

  let stopped = false;
  return {
    rootNodes: ports.map((p) => `redis://${HOST}:${p}`),
    nodes,
    dir: group.dir,
    startMs,
    async masterOfKey(key) {
      const { port, view } = await liveView();
      const slot = Number(await call(port, 'CLUSTER', 'KEYSLOT', key));
      const master = view.find((n) => isMaster(n) && !n.flags.includes('fail') && n.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!master) throw new Error(`no master serves slot ${slot} (key ${key}) as node ${port} sees it`);
      return { port: master.port, pid: group.pid(master.port) };
    },
    async replicaOf(masterPort) {
      const { port, view } = await liveView();
      const master = view.find((n) => n.port === masterPort);
      if (!master) throw new Error(`node ${port} does not know a node on port ${masterPort}`);
      const replica = view.find((n) => isReplica(n) && n.masterId === master.id && !isFailing(n) && group.procs.get(n.port)?.running);
      if (!replica) throw new Error(`the master on port ${masterPort} has no live replica`);
      return { port: replica.port, pid: group.pid(replica.port) };
    },
    kill: (port, signal = 'SIGKILL') => group.kill(port, signal),
    async failover(replicaPort, options = {}) {
      const start = Date.now();
      const waitMs = options.timeoutMs ?? timeoutMs;
      const roleOf = async (): Promise<string> => (await call(replicaPort, 'ROLE')).split('\n')[0] ?? '';
      let mode = options.mode ?? 'FORCE';
      if ((await roleOf()) !== 'master') await call(replicaPort, 'CLUSTER', 'FAILOVER', mode);
      const fallbackAt = start + 3 * nodeTimeoutMs;
      await group.until(`fail-over to ${replicaPort}`, waitMs, async () => {
        const role = await roleOf();
        if (role !== 'master') {
          if (mode === 'FORCE' && Date.now() > fallbackAt) {
            mode = 'TAKEOVER';
            await call(replicaPort, 'CLUSTER', 'FAILOVER', 'TAKEOVER');
          }
          return `role of ${replicaPort} is ${role}`;
        }
        return true;
      });
      await waitClusterHealthy(group, ports, 3, Math.max(0, waitMs - (Date.now() - start)), replicaPort);
      const node = nodes.find((n) => n.port === replicaPort);
      if (node) node.role = 'master';
      return { port: replicaPort, pid: group.pid(replicaPort), tookMs: Date.now() - start };
    },
    waitForClusterOk: (ms = timeoutMs) => waitClusterHealthy(group, ports, 3, ms),
    logTail: (lines) => group.logTail(lines),
    async stop() {
      if (stopped) return;
      stopped = true;
      await group.stop();
      releasePorts(ports, true);
    },
  };
}

/**
 * Polls until every live node says cluster_state:ok with all 16384 slots, sees 3 live masters (none failing) owning all
 * slots and agrees with the others on them. With `expectNodes` 6 (the start) also: all 6 nodes known and connected,
 * every master with its one replica, each replica's link up and synced. With `newMaster`, that node must be among the
 * masters in every view.
 */
async function waitClusterHealthy(group: ProcessGroup, ports: number[], expectNodes: 6 | 3, timeoutMs: number, newMaster?: number): Promise<number> {
  const full = expectNodes === 6;
  return group.until('cluster healthy', timeoutMs, async () => {
    const live = group.livePorts(ports);
    const views = await Promise.all(live.map(async (port) => {
      const [info, nodesText] = await Promise.all([call(port, 'CLUSTER', 'INFO'), call(port, 'CLUSTER', 'NODES')]);
      return { port, info: fields(info), view: parseClusterNodes(nodesText) };
    }));
    let signature: string | undefined;
    for (const { port, info, view } of views) {
      if (info.get('cluster_state') !== 'ok') return `node ${port}: cluster_state ${info.get('cluster_state')}`;
      if (info.get('cluster_slots_assigned') !== '16384' || info.get('cluster_slots_ok') !== '16384') return `node ${port}: slots ok ${info.get('cluster_slots_ok')}`;
      if (full && info.get('cluster_known_nodes') !== '6') return `node ${port}: knows ${info.get('cluster_known_nodes')} nodes`;
      const masters = view.filter((n) => isMaster(n) && n.slots.length > 0);
      if (masters.length !== 3 || masters.some(isFailing)) return `node ${port}: masters ${masters.map((m) => `${m.port}:${m.flags.join(',')}`).join(' ')}`;
      // A killed master still serves its slots in every view until the cluster has noticed (node time-out) and failed over.
      const gone = masters.find((m) => !group.procs.get(m.port)?.running);
      if (gone) return `node ${port}: killed node ${gone.port} still serves slots`;
      if (newMaster !== undefined && !masters.some((m) => m.port === newMaster)) return `node ${port} does not yet see ${newMaster} as master`;
      if (full) {
        if (view.some(isFailing)) return `node ${port}: a node is failing`;
        if (view.some((n) => n.linkState !== 'connected')) return `node ${port}: a link is down`;
        for (const m of masters) {
          const replicas = view.filter((n) => isReplica(n) && n.masterId === m.id);
          if (replicas.length !== 1) return `node ${port}: master ${m.port} has ${replicas.length} replicas`;
        }
      }
      const sig = masters.map((m) => `${m.port}=${m.slots.map(([a, b]) => `${a}-${b}`).join(',')}`).sort().join(' ');
      if (signature !== undefined && sig !== signature) return `nodes disagree: ${signature} / ${sig}`;
      signature = sig;
    }
    if (full) {
      for (const { port, view } of views) {
        const me = view.find((n) => n.flags.includes('myself'));
        if (!me) continue;
        const repl = fields(await call(port, 'INFO', 'replication'));
        if (isReplica(me) && (repl.get('master_link_status') !== 'up' || repl.get('master_sync_in_progress') !== '0')) return `replica ${port}: link ${repl.get('master_link_status')}`;
        // The master streams writes to a replica once it is online (after the replica's first ACK).
        if (isMaster(me) && !/state=online/.test(repl.get('slave0') ?? '')) return `master ${port}: replica ${repl.get('slave0') ?? 'none'}`;
      }
    }
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Sentinel

export async function startSentinel(opts: SentinelOptions = {}): Promise<RedisSentinelTopology> {
  return retryOnPortClash(() => startSentinelOnce(opts));
}

async function startSentinelOnce(opts: SentinelOptions): Promise<RedisSentinelTopology> {
  const name = 'mymaster' as const;
  const downAfterMs = opts.downAfterMs ?? 1000;
  const failoverTimeoutMs = opts.failoverTimeoutMs ?? 5000;
  const timeoutMs = opts.timeoutMs ?? 30000;
  const started = Date.now();
  const deadline = started + timeoutMs;
  const allPorts = await pickPorts(6, false);
  const [masterPort, ...rest] = allPorts as [number, number, number, number, number, number];
  const replicaPorts = rest.slice(0, 2);
  const sentinelPorts = rest.slice(2, 5);
  const group = new ProcessGroup('redis-sentinel-');
  try {
    // The master first, so that the replicas connect at once (they retry only once a second).
    group.spawn(masterPort, 'redis', ['--port', String(masterPort), ...COMMON_ARGS(group.dir)]);
    await group.waitForPing(masterPort, deadline);
    for (const port of replicaPorts) {
      group.spawn(port, 'redis', ['--port', String(port), '--replicaof', HOST, String(masterPort), ...COMMON_ARGS(group.dir)]);
    }
    await Promise.all(replicaPorts.map((p) => group.waitForPing(p, deadline)));
    await group.until('replicas synced', Math.max(0, deadline - Date.now()), async () => {
      for (const port of replicaPorts) {
        const repl = fields(await call(port, 'INFO', 'replication'));
        if (repl.get('master_link_status') !== 'up' || repl.get('master_sync_in_progress') !== '0') return `replica ${port}: link ${repl.get('master_link_status')}`;
      }
      const master = fields(await call(masterPort, 'INFO', 'replication'));
      if (master.get('connected_slaves') !== '2') return `master has ${master.get('connected_slaves')} replicas`;
      for (const r of ['slave0', 'slave1']) if (!/state=online/.test(master.get(r) ?? '')) return `master: ${r} ${master.get(r)}`;
      return true;
    }, 25);
    // Sentinels only once the replicas are attached. Each configuration names the replicas and the other sentinels
    // (with ids chosen here), as a sentinel writes them itself on a rewrite: without that, a sentinel learns the other
    // sentinels from their hello messages (every 2 s) only, and replicas that attach later from the master's INFO
    // (every 10 s).
    const ids = new Map(sentinelPorts.map((port) => [port, randomBytes(20).toString('hex')]));
    for (const port of sentinelPorts) {
      const conf = join(group.dir, `sentinel-${port}.conf`);
      writeFileSync(conf, [
        `port ${port}`,
        `bind ${HOST}`,
        'daemonize no',
        `dir "${group.dir}"`,
        `sentinel myid ${ids.get(port)}`,
        'sentinel resolve-hostnames no',
        `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`,
        ...replicaPorts.map((p) => `sentinel known-replica ${name} ${HOST} ${p}`),
        ...sentinelPorts.filter((p) => p !== port).map((p) => `sentinel known-sentinel ${name} ${HOST} ${p} ${ids.get(p)}`),
        '',
      ].join('\n'));
      group.spawn(port, 'sentinel', [conf, '--sentinel']);
    }
    await Promise.all(sentinelPorts.map((p) => group.waitForPing(p, deadline)));
    await group.until('sentinels see master, 2 replicas and 2 other sentinels', Math.max(0, deadline - Date.now()), async () => {
      for (const port of sentinelPorts) {
        const m = pairs(await call(port, 'SENTINEL', 'MASTER', name));
        if (m.get('port') !== String(masterPort) || m.get('flags') !== 'master') return `sentinel ${port}: master ${m.get('port')} ${m.get('flags')}`;
        if (m.get('num-slaves') !== '2' || m.get('num-other-sentinels') !== '2') return `sentinel ${port}: ${m.get('num-slaves')} replicas, ${m.get('num-other-sentinels')} other sentinels`;
        // ... and is connected to each of them (flags without s_down, disconnected), the replicas linked to the master.
        const replicas = listOfPairs(await call(port, 'SENTINEL', 'REPLICAS', name));
        if (replicas.length !== 2 || replicas.some((r) => r.get('flags') !== 'slave' || r.get('master-link-status') !== 'ok')) return `sentinel ${port}: replicas ${replicas.map((r) => `${r.get('port')}:${r.get('flags')}:${r.get('master-link-status')}`).join(' ')}`;
        const others = listOfPairs(await call(port, 'SENTINEL', 'SENTINELS', name));
        if (others.length !== 2 || others.some((o) => o.get('flags') !== 'sentinel')) return `sentinel ${port}: sentinels ${others.map((o) => `${o.get('port')}:${o.get('flags')}`).join(' ')}`;
      }
      return true;
    });
  } catch (err) {
    await group.stop();
    releasePorts(allPorts, false);
    throw err;
  }

  const nodes: TopologyNode[] = [
    { port: masterPort, pid: group.pid(masterPort), role: 'master' },
    ...replicaPorts.map((port) => ({ port, pid: group.pid(port), role: 'replica' as const })),
    ...sentinelPorts.map((port) => ({ port, pid: group.pid(port), role: 'sentinel' as const })),
  ];
  const startMs = Date.now() - started;

  const masterAddr = async (sentinelPort: number): Promise<number> => {
    const [, port] = (await call(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)).split('\n');
    return Number(port);
  };

  let stopped = false;
  return {
    name,
    sentinels: sentinelPorts.map((p) => `redis://${HOST}:${p}`),
    sentinelRootNodes: sentinelPorts.map((port) => ({ host: HOST, port })),
    nodes,
    dir: group.dir,
    startMs,
    async master() {
      let lastErr: unknown;
      for (const s of group.livePorts(sentinelPorts)) {
        try {
          const port = await masterAddr(s);
          return { port, pid: group.pid(port) };
        } catch (err) {
          lastErr = err;
        }
      }
      throw new Error(`no live sentinel answers: ${(lastErr as Error | undefined)?.message ?? 'all killed'}`);
    },
    kill: (port, signal = 'SIGKILL') => group.kill(port, signal),
    async waitForNewMaster(oldPort, ms = 20000) {
      let found = 0;
      const tookMs = await group.until(`a new master instead of ${oldPort}`, ms, async () => {
        const live = group.livePorts(sentinelPorts);
        const named = await Promise.all(live.map(masterAddr));
        const first = named[0];
        if (first === undefined || first === oldPort || named.some((p) => p !== first)) return `sentinels name ${named.join(', ')}`;
        const role = (await call(first, 'ROLE')).split('\n')[0];
        if (role !== 'master') return `${first} is still ${role}`;
        found = first;
        return true;
      });
      return { port: found, pid: group.pid(found), tookMs };
    },
    logTail: (lines) => group.logTail(lines),
    async stop() {
      if (stopped) return;
      stopped = true;
      await group.stop();
      releasePorts(allPorts, false);
    },
  };
}
