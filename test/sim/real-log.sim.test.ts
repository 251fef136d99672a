/**
 * The simulation of rooms (sim-world.ts) over the real logs instead of SimLog (real-logs.ts): the
 * same world, commands and invariants, fewer histories. Embedded: one node over an EmbeddedLog in
 * a temporary directory (the embedded log is a single process's log). Redis: 1-3 nodes, one
 * RedisLog each with its own connections, on the Redis at SIM_REDIS_URL (default
 * redis://127.0.0.1:6379, which is shared: every run uses a prefix of its own and deletes its keys
 * afterwards; if nothing answers there and SIM_REDIS_URL is unset, a private redis-server is
 * started). Commands: members' edits, connects and disconnects, steps (the log's I/O runs a
 * while), compactions, sweeps, compaction leases held by a dead node, and for Redis a reset
 * (Redis restarted empty). The log's faults that need a simulated log (lost appends, a node cut
 * off, the log down) stay SimLog's (room-core.sim.test.ts).
 *
 * Timers are fake (setTimeout, setInterval); the clock (Date) and the log's I/O are real, so a
 * history's run is not a function of its seed: the commands are, the interleavings of I/O are not
 * (real-logs.ts says how time and I/O are kept in step). A failure prints the log, seed, path and the commands' replay
 * path; `SIM_LOG=<embedded|redis> SIM_SEED=<seed> SIM_PATH=<path> SIM_REPLAY=<replayPath> npx
 * vitest run test/sim/real-log.sim.test.ts` runs those commands again (SIM_LOG picks the log; with
 * SIM_PATH set and no SIM_LOG, this file leaves the replay to room-core.sim.test.ts). Since the
 * I/O may interleave otherwise on a replay (and a shrunk path may then not replay at all), the
 * failure also prints the smallest history itself: `SIM_LOG=<log> SIM_HISTORY='<nodes>,<commands>'`
 * runs it SIM_REAL_RUNS times. `SIM_REAL_RUNS` sets how many histories to try per log (default
 * 40), `SIM_REAL_COMMANDS` their longest (60), `SIM_REDIS_MIN_AGE_MS` the nodes'
 * REDIS_MIN_ENTRY_AGE_MS (1000; see real-logs.ts).
 */
import { randomUUID } from 'node:crypto'
import { createClient } from '@redis/client'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, beforeEach, describe, it, vi } from 'vitest'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { EmbeddedWorldLog, RedisWorldLog, type RealLog, type RedisAdmin } from './real-logs.ts'
import { unstuck } from './sim-time.ts'
import { World } from './sim-world.ts'

type Kind = 'embedded' | 'redis'
type Command = fc.AsyncCommand<object, World<RealLog>, false>

const RUNS = Number(process.env.SIM_REAL_RUNS ?? 40)
const MAX_COMMANDS = Number(process.env.SIM_REAL_COMMANDS ?? 60)
const FIXED_SEED = 20261219
const SEED = process.env.SIM_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SIM_SEED ?? FIXED_SEED)
/** Runs spent shrinking a failure before the smallest one found is reported (real runs are slower). */
const SHRINK_BUDGET = Number(process.env.SIM_SHRINK ?? 80)
const PROGRESS = Number(process.env.SIM_PROGRESS ?? 0)
const USERS = 3
const NODES: Record<Kind, { min: number; max: number }> = { embedded: { min: 1, max: 1 }, redis: { min: 1, max: 3 } }
const ONLY = process.env.SIM_LOG as Kind | undefined
/** A history to run RUNS times instead of generated ones (with SIM_LOG): `<nodes>,<command>,<command>,…`. */
const HISTORY = ONLY ? process.env.SIM_HISTORY : undefined
/** A SIM_PATH without SIM_LOG replays a history of room-core.sim.test.ts. */
const REPLAYING_OTHER = process.env.SIM_PATH !== undefined && ONLY === undefined
/** This process's runs' prefixes start with it (cleanup looks for it too); it says when it began. */
const PREFIX = `sim-real:${Date.now()}-${randomUUID().slice(0, 8)}:`
/** Keys of a process that began this long ago were left by one that was killed (a file takes seconds). */
const STALE_MS = 3_600_000

/** What each command does; a command's name is `verb(args)`, as fast-check prints it and SIM_HISTORY gives it back. */
const ACTIONS: Record<string, (world: World<RealLog>, args: number[]) => Promise<void> | void> = {
  edit: (w, [c, choice]) => w.edit(w.clients[c!]!, choice!),
  step: (w, [k]) => w.step(k!),
  connect: (w, [c, n]) => w.connect(w.clients[c!]!, n!),
  disconnect: (w, [c]) => w.clients[c!]!.disconnect(),
  compact: (w, [n]) => w.compact(n!),
  sweep: (w, [n]) => w.sweep(n!),
  lease: (w, [n, take]) => w.takeLease(n!, take === 1),
  reset: (w) => w.log.reset?.(),
}

function command(verb: string, ...args: Array<number | boolean>): Command {
  const name = `${verb}(${args.join(', ')})`
  const action = ACTIONS[verb]
  if (!action) throw new Error(`no command ${name}`)
  const numbers = args.map(Number)
  return {
    check: () => true,
    run: async (_model, world) => {
      if (process.env.SIM_TRACE) console.log('CMD', name)
      await action(world, numbers)
      await world.settle()
      world.watch()
    },
    toString: () => name,
  }
}

function commands(kind: Kind, nodes: number): Array<fc.Arbitrary<Command>> {
  const node = fc.nat({ max: nodes - 1 })
  const client = fc.nat({ max: 2 * USERS - 1 })
  const weighted: Array<fc.WeightedArbitrary<Command>> = [
    { arbitrary: fc.tuple(client, fc.nat()).map(([c, choice]) => command('edit', c, choice)), weight: 25 },
    { arbitrary: fc.integer({ min: 1, max: 8 }).map((k) => command('step', k)), weight: 20 },
    { arbitrary: fc.tuple(client, node).map(([c, n]) => command('connect', c, n)), weight: 15 },
    { arbitrary: client.map((c) => command('disconnect', c)), weight: 6 },
    { arbitrary: node.map((n) => command('compact', n)), weight: 5 },
    { arbitrary: node.map((n) => command('sweep', n)), weight: 3 },
    { arbitrary: fc.tuple(node, fc.boolean()).map(([n, take]) => command('lease', n, take)), weight: 3 },
  ]
  if (kind === 'redis') weighted.push({ arbitrary: fc.constant(command('reset')), weight: 1 })
  return [fc.oneof(...weighted)]
}

/**
 * A history as fast-check prints a counterexample (`[[2,edit(2, 7),step(8),…]]`, its replay path
 * comment included or not), or just `2,edit(2, 7),step(8),…`: the number of nodes, then the commands.
 */
function parseHistory(text: string): { nodes: number; commands: Command[] } {
  const body = text.replace(/\/\*.*?\*\//g, '')
  const nodes = /^[\s[]*(\d+)/.exec(body)
  if (!nodes) throw new Error(`SIM_HISTORY should start with the number of nodes: ${text}`)
  const list = [...body.matchAll(/(\w+)\(([^)]*)\)/g)].map(([, verb, args]) => command(verb!, ...args!.split(',').map((a) => a.trim()).filter((a) => a !== '').map((a) => (a === 'true' ? true : a === 'false' ? false : Number(a)))))
  return { nodes: Number(nodes[1]), commands: list }
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
let redisUrl = process.env.SIM_REDIS_URL ?? DEFAULT_REDIS_URL
let privateRedis: RedisServer | undefined
function newAdmin(url: string) {
  return createClient({ url, socket: { connectTimeout: 2_000, reconnectStrategy: false } })
}
let admin: ReturnType<typeof newAdmin> | undefined

async function connectAdmin(url: string): Promise<ReturnType<typeof newAdmin>> {
  const client = newAdmin(url)
  client.on('error', () => undefined) // a failed connect rejects connect() itself
  await client.connect()
  return client
}

beforeAll(async () => {
  if (REPLAYING_OTHER || (ONLY !== undefined && ONLY !== 'redis')) return
  try {
    admin = await connectAdmin(redisUrl)
  } catch (error) {
    if (process.env.SIM_REDIS_URL) throw error
    privateRedis = await startRedis({ persistent: false })
    redisUrl = privateRedis.url
    admin = await connectAdmin(redisUrl)
    console.log(`real-log sim: nothing answers at ${DEFAULT_REDIS_URL}; started a private redis-server at ${redisUrl}`)
  }
  await deleteKeys((key) => {
    const began = Number(/^sim-real:(\d+)-/.exec(key)?.[1])
    return Number.isFinite(began) && began < Date.now() - STALE_MS
  })
}, 30_000)

/** Deletes the simulation's keys that `doomed` picks. */
async function deleteKeys(doomed: (key: string) => boolean): Promise<void> {
  const keys: string[] = []
  for await (const batch of admin!.scanIterator({ MATCH: 'sim-real:*', COUNT: 1000 })) keys.push(...batch.filter(doomed))
  if (keys.length > 0) await admin!.del(keys)
}

afterAll(async () => {
  if (admin) {
    // Whatever a run left under this process's prefix (a run cleans up after itself; a failed close may not).
    await deleteKeys((key) => key.startsWith(PREFIX))
    await admin.close()
  }
  await privateRedis?.destroy()
})

beforeEach(() => {
  // Not setImmediate: the Redis client writes its commands in one, the embedded log starts its
  // commits in one. Not Date: Redis stamps entries with its real clock, and a node compares its
  // own clock with those stamps (a trim spares entries younger than REDIS_MIN_ENTRY_AGE_MS); a
  // fake clock running ahead of Redis's would trim entries a reader has yet to read (real-logs.ts).
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
})

afterEach(() => {
  vi.clearAllTimers()
  vi.useRealTimers()
})

/** As World.quiesce; if the world does not quiesce, says what is still in flight and what a check finds meanwhile. */
async function quiesce(world: World<RealLog>, log: RealLog): Promise<void> {
  try {
    await world.quiesce()
  } catch (error) {
    if (!(error instanceof Error) || error.message !== 'did not quiesce') throw error
    const why = await log.unquiet(world.nodes)
    try {
      await world.check()
    } catch (checked) {
      throw new Error(`did not quiesce (${why}); a check meanwhile: ${checked instanceof Error ? checked.message : String(checked)}`, { cause: checked })
    }
    throw new Error(`did not quiesce (${why})`)
  }
}

async function openLog(kind: Kind, nodes: number, run: number): Promise<RealLog> {
  if (kind === 'embedded') return EmbeddedWorldLog.open()
  return RedisWorldLog.open(admin as unknown as RedisAdmin, redisUrl, `${PREFIX}${run}:`, nodes)
}

describe.skipIf(REPLAYING_OTHER)('the room simulation over a real log', () => {
  for (const kind of ['embedded', 'redis'] as const) {
    it.skipIf(ONLY !== undefined && ONLY !== kind)(`${kind}: rooms stay exact over the real ${kind} log`, async () => {
      const shrinking = { failed: false, runs: 0 }
      const progress = { runs: 0, started: performance.now() }
      if (PROGRESS) console.log(`real-log sim (${kind}): seed ${SEED}, ${RUNS} runs`)
      /** One history, start to finish, over a fresh log; throws what it found. */
      const runHistory = async (nodeCount: number, cmds: Iterable<Command>): Promise<void> => {
        const run = ++progress.runs
        if (PROGRESS && run % PROGRESS === 0) console.log(`real-log sim (${kind}): ${run} runs${shrinking.failed ? ' (shrinking a failure)' : ''}, ${Math.round((performance.now() - progress.started) / 1000)} s`)
        const log = await openLog(kind, nodeCount, run)
        const world = new World<RealLog>(null, { nodes: nodeCount, users: USERS, everyUpdates: 4 }, (onLogged) => log.bind(onLogged))
        let failure: unknown = null
        try {
          await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds)
          await quiesce(world, log)
          await world.check()
          if (process.env.SIM_STATS) console.log(JSON.stringify({ log: kind, commands: [...cmds].length, ...world.stats(), resets: log.resets }))
        } catch (error) {
          failure = error
        }
        try {
          await unstuck('closing the world', world.close())
        } catch (error) {
          failure ??= new Error(`closing the world failed: ${String(error)}`, { cause: error })
        } finally {
          vi.clearAllTimers() // the closed world's timers
        }
        if (failure) throw failure
      }
      if (HISTORY) {
        // The I/O's interleavings are not the seed's: the same history is run RUNS times.
        const { nodes, commands: list } = parseHistory(HISTORY)
        for (let attempt = 1; attempt <= RUNS; attempt++) {
          try {
            await runHistory(nodes, list)
          } catch (error) {
            throw new Error(`${kind} log: SIM_HISTORY failed on attempt ${attempt} of ${RUNS}`, { cause: error })
          }
        }
        return
      }
      const property = fc.asyncProperty(
        fc.integer(NODES[kind]).chain((nodes) => fc.tuple(fc.constant(nodes), fc.commands(commands(kind, nodes), { maxCommands: MAX_COMMANDS, size: 'max', ...(process.env.SIM_REPLAY && { replayPath: process.env.SIM_REPLAY }) }))),
        async ([nodeCount, cmds]) => {
          // Shrinking: past the budget, candidates count as passing (the smallest failure found is reported).
          if (shrinking.failed && ++shrinking.runs > SHRINK_BUDGET) return
          try {
            await runHistory(nodeCount, cmds)
          } catch (error) {
            shrinking.failed = true
            throw error
          }
        },
      )
      const details = await fc.check(property, {
        numRuns: RUNS,
        seed: SEED,
        ...(process.env.SIM_PATH && { path: process.env.SIM_PATH }),
        verbose: 1,
      })
      if (!details.failed) return
      const report = fc.defaultReportMessage(details) ?? 'failed'
      const replay = /replayPath="([^"]*)"/.exec(report)?.[1]
      const error = details.errorInstance instanceof Error ? details.errorInstance : new Error(String(details.errorInstance))
      const history = details.counterexample ? `${details.counterexample[0][0]},${[...details.counterexample[0][1]].map(String).join(',')}` : ''
      throw new Error([
        `${kind} log: ${report}`,
        `Got error: ${error.stack ?? error.message}`,
        `replay (the same commands; the I/O may interleave otherwise): SIM_LOG=${kind} SIM_SEED=${details.seed} SIM_PATH=${details.counterexamplePath ?? ''}${replay ? ` SIM_REPLAY=${replay}` : ''} npx vitest run test/sim/real-log.sim.test.ts`,
        `or run the smallest history ${RUNS} times: SIM_LOG=${kind} SIM_HISTORY='${history}' npx vitest run test/sim/real-log.sim.test.ts`,
      ].join('\n\n'), { cause: error })
    }, 900_000)
  }
})
