/**
 * The deterministic simulation of rooms (sim-world.ts): fast-check generates histories of member
 * edits, connects and disconnects across 1-3 nodes, compactions, cold folds, lagging readers,
 * failed and half-failed appends, failed snapshot saves, the log going down and coming back
 * empty; its scheduler decides every race the log leaves open (an append's answer against its read, one node's read against
 * another's). After every step nothing may go backwards or reach a socket before it is logged;
 * once quiet, every client, every hot room and storage hold exactly what was accepted, and every
 * socket got every change once.
 *
 * A failure prints its seed, path and the commands' replay path; `SIM_SEED=<seed> SIM_PATH=<path>
 * SIM_REPLAY=<replayPath> npx vitest run test/sim` replays it (shrunk to a minimal history). `SIM_RUNS` sets how many histories to try (`npm run sim`
 * runs thousands).
 */
import fc from 'fast-check'
import { afterEach, beforeEach, it, vi } from 'vitest'
import type { AppendFault } from './sim-log.ts'
import { World } from './sim-world.ts'

type Command = fc.AsyncCommand<object, World, false>

const RUNS = Number(process.env.SIM_RUNS ?? 150)
const FIXED_SEED = 20261206
/** Runs spent shrinking a failure before the smallest one found is reported. */
const SHRINK_BUDGET = Number(process.env.SIM_SHRINK ?? 400)
let shrinking = { failed: false, runs: 0 }
/** Print a line every this many runs (`npm run sim` sets it; 0: quiet). */
const PROGRESS = Number(process.env.SIM_PROGRESS ?? 0)
/** Wall-clock start: taken before the clock is faked. */
const progress = { runs: 0, started: performance.now() }
/** `SIM_SEED=random` draws a fresh seed and prints it, so any sweep can be replayed. */
const SEED = process.env.SIM_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SIM_SEED ?? FIXED_SEED)
const NODES = { min: 1, max: 3 }
const USERS = 3

function command(name: string, run: (world: World) => Promise<void> | void): Command {
  return {
    check: () => true,
    run: async (_model, world) => {
      if (process.env.SIM_TRACE) console.log('CMD', name)
      await run(world)
      await world.settle()
      world.watch()
    },
    toString: () => name,
  }
}

/** Which faults a history may have: the log's resets, failed snapshot saves, failovers. */
interface Faults {
  resets: boolean
  saveFaults: boolean
  failovers: boolean
}

function commands(nodes: number, { resets, saveFaults, failovers }: Faults): Array<fc.Arbitrary<Command>> {
  const node = fc.nat({ max: nodes - 1 })
  const client = fc.nat({ max: 2 * USERS - 1 })
  const edit = fc.tuple(client, fc.nat()).map(([c, choice]) => command(`edit(${c}, ${choice})`, (w) => w.edit(w.clients[c]!, choice)))
  const step = fc.integer({ min: 1, max: 8 }).map((k) => command(`step(${k})`, (w) => w.step(k)))
  const connect = fc.tuple(client, node).map(([c, n]) => command(`connect(${c}, ${n})`, (w) => w.connect(w.clients[c]!, n)))
  // Members' work and the log's pace weigh most; each fault comes now and then, a reset rarely.
  const weighted = fc.oneof(
    { arbitrary: edit, weight: 25 },
    { arbitrary: step, weight: 25 },
    { arbitrary: connect, weight: 15 },
    { arbitrary: client.map((c) => command(`disconnect(${c})`, (w) => w.clients[c]!.disconnect())), weight: 6 },
    { arbitrary: node.map((n) => command(`compact(${n})`, (w) => w.compact(n))), weight: 5 },
    { arbitrary: node.map((n) => command(`sweep(${n})`, (w) => w.sweep(n))), weight: 3 },
    { arbitrary: fc.tuple(node, fc.boolean()).map(([n, cut]) => command(`cut(${n}, ${cut})`, (w) => w.cut(n, cut))), weight: 5 },
    { arbitrary: fc.tuple(node, fc.constantFrom<AppendFault>('lost', 'written-then-failed')).map(([n, fault]) => command(`failNextAppend(${n}, ${fault})`, (w) => w.failNextAppend(n, fault))), weight: 4 },
    { arbitrary: fc.boolean().map((up) => command(`logUp(${up})`, (w) => w.log.setUp(up))), weight: 4 },
    { arbitrary: fc.tuple(node, fc.boolean()).map(([n, take]) => command(`lease(${n}, ${take})`, (w) => w.takeLease(n, take))), weight: 3 },
    // SIM_NO_RESET=1 leaves the log's resets out (to sweep everything else on its own).
    { arbitrary: fc.constant(command('reset()', (w) => w.log.reset())), weight: resets ? 1 : 0 },
    // Added last, weighing nothing when off: the histories found before it are generated as they were.
    { arbitrary: fc.constant(command('failNextSave()', (w) => w.failNextSave())), weight: saveFaults ? 3 : 0 },
    // A failover: an append is read by some and then gone from the log (added last, as above).
    { arbitrary: node.map((n) => command(`failNextAppend(${n}, written-then-dropped)`, (w) => w.failNextAppend(n, 'written-then-dropped'))), weight: failovers ? 3 : 0 },
  )
  return [weighted]
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] })
})

afterEach(() => {
  vi.clearAllTimers()
  vi.useRealTimers()
})

if (PROGRESS) console.log(`sim: seed ${SEED}, ${RUNS} runs`)

/** One history per run: commands on 1-3 nodes, then quiescence and every invariant. */
function histories({ resets = !process.env.SIM_NO_RESET, saveFaults = true, failovers = true }: Partial<Faults> = {}): fc.IAsyncPropertyWithHooks<[fc.Scheduler, [number, Iterable<fc.AsyncCommand<object, World>>]]> {
  shrinking = { failed: false, runs: 0 } // each property shrinks its own failure
  return fc.asyncProperty(
    fc.scheduler(),
    fc.integer(NODES).chain((nodes) => fc.tuple(fc.constant(nodes), fc.commands(commands(nodes, { resets, saveFaults, failovers }), { maxCommands: 120, size: 'max', ...(process.env.SIM_REPLAY && { replayPath: process.env.SIM_REPLAY }) }))),
    async (s, [nodeCount, cmds]) => {
      if (PROGRESS && ++progress.runs % PROGRESS === 0) console.log(`sim: ${progress.runs} runs${shrinking.failed ? ' (shrinking a failure)' : ''}, ${Math.round((performance.now() - progress.started) / 1000)} s`)
      // Shrinking a long history can take thousands of runs: past the budget, candidates count as
      // passing, and the smallest failing history found so far is the one reported.
      if (shrinking.failed && ++shrinking.runs > SHRINK_BUDGET) return
      const world = new World(s, { nodes: nodeCount, users: USERS, everyUpdates: 4 })
      try {
        await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds)
        await world.quiesce()
        await world.check()
      } catch (error) {
        shrinking.failed = true
        // A long shrink may be cut short: the smallest failing history so far is printed as it goes.
        if (PROGRESS) console.log(`sim: failing history (${cmds.toString().length} chars): ${nodeCount} nodes, ${cmds.toString()} -- ${String(error).slice(0, 300)}`)
        throw error
      }
      if (process.env.SIM_STATS) console.log(JSON.stringify(world.stats()))
    },
  )
}

it('rooms stay exact whatever the order of appends, reads, compactions, trims, lags and faults', async () => {
  await fc.assert(histories(), {
    numRuns: RUNS,
    // A fixed seed in `npm test` (the same histories on every run: CI is never flaky); `npm run sim`
    // sweeps fresh seeds (SIM_SEED=random).
    seed: SEED,
    // Shrinking past the budget only walks candidates that pass at once; this bounds the walk.
    ...(process.env.SIM_TIME_LIMIT_MS && { interruptAfterTimeLimit: Number(process.env.SIM_TIME_LIMIT_MS) }),
    ...(process.env.SIM_PATH && { path: process.env.SIM_PATH }),
    verbose: 1,
  })
}, Number(process.env.SIM_TEST_TIMEOUT_MS ?? 600_000))

/**
 * Histories sweeps of fresh seeds found failing, each fixed since: replayed as they were generated
 * (seed and run index), so each stays fixed. Each mixed several faults; the fix is named.
 */
const FOUND: Array<{ seed: number; run: number; fixed: string; resets?: false; saveFaults?: true; failovers?: true }> = [
  { seed: 467674315, run: 108, fixed: 'a compaction behind another node\'s snapshot spun forever (compactor followUp; met while fixing the others)' },
  { seed: 467674315, run: 464, fixed: 'an edit erasing content the log lost was refused 4422 (declined after a loss)' },
  { seed: 467674315, run: 684, fixed: 'a node never saw content only a later snapshot held (parked updates look for it)' },
  { seed: 1321012211, run: 357, fixed: 'two members\' resends waiting for each other\'s deletions (judged per member)' },
  { seed: 1515952829, run: 21, fixed: 'history credited a struct twice (an update with a hole)' },
  { seed: 1572565224, run: 235, resets: false, fixed: 'a member\'s deletion of her own message, posted and deleted offline, was refused once set apart from the other deletions her resend carried' },
  { seed: 116448471, run: 970, fixed: 'after a loss, a member\'s own deletion was cut apart from the deleted message it names (ready part of a waiting resend)' },
  { seed: 40187835, run: 839, fixed: 'a relog sent before a second loss counted as logged at an entry the loss took (written again)' },
  { seed: 364909293, run: 878, fixed: 'a resend was judged against a log head a trim had emptied (the head is the newest id ever appended)' },
  { seed: 269406552, run: 829, fixed: 'a room being evicted when the log lost its entries never relogged, and its final snapshot dropped what the log had lost' },
  { seed: 2092079177, run: 201, fixed: 'an empty part of a split resend counted as new: logged again on every retry, the rooms never went quiet' },
  { seed: 2092079177, run: 265, fixed: 'a relog landed on an update the room had since copied (rebase): the copy stayed unlogged and unfolded' },
  { seed: 1131910638, run: 269, fixed: 'as below (a member\'s deletion of two own messages, one of them ready, one waiting)' },
  { seed: 1010320774, run: 57, fixed: 'the ready part of a waiting resend lost its own deletion when the range ran past the cut: its deleted struct deleted the message unseen (the range is cut too)' },
  { seed: 1515952829, run: 15, fixed: 'a socket got a change twice (knowledge rebuilt from updates out of order; met while fixing the others)' },
  { seed: 1841522922, run: 86, fixed: 'history credited a chat message twice: a cold fold yielding between slices lost its lease when the simulation let dead nodes\' leases lapse (only theirs lapse now)' },
  { seed: 714243521, run: 465, fixed: 'as above, another history' },
  { seed: 8028594, run: 327, fixed: 'after a reset, a node held content under its own relog still in flight when another node\'s relog of it was read first: its snapshot up to that entry lacked it, and a node adopting that snapshot lost it (read entries claim what lost updates hold)' },
  { seed: 231453480, run: 432, fixed: 'met while fixing the above: content claimed by an entry was credited to that entry\'s writer, who had passed on another member\'s content (it stays credited to whom the room took it from)' },
  { seed: 463656052, run: 639, fixed: 'met while fixing the above: a lost update claimed whole by another node\'s relog was replaced by a copy, so its own relog, landing after a second loss, placed nothing and a snapshot lacked it (claimed whole, it stays the same object, placed)' },
  { seed: 916329734, run: 372, fixed: 'after a loss, two members\' resends waited for each other for good: one\'s own message built on the other\'s, whose resend held its own message back with a deletion of the first one\'s content nobody had sent yet (a deletion of unknown content now waits alone, as Yjs keeps a pending delete set)' },
  { seed: 1906546750, run: 542, saveFaults: true, fixed: 'a member\'s resend to a node that had not read another node\'s entry passed on the eraser\'s erasure, and history credited the erasure to her (a resend\'s deletion of others\' content waits until the log is read as far as it reached)' },
  { seed: 1467338910, run: 952, resets: false, saveFaults: true, fixed: 'as above, for a message its author posted and deleted: a resend passed on the deleted struct under an id the node did not know, and its deletion was credited to the member passing it on (such structs wait with their deletion)' },
  { seed: 585069264, run: 753, saveFaults: true, fixed: 'met while fixing the above: a member\'s stroke drawn and erased offline waited for the log to be read as far as it reached, and the log then lost its entries: it waited for good (a loss judges what waits for the log at once)' },
  // Failovers (an entry read by some nodes, then gone from the log; the CI failure of the Redis
  // Cluster failover test).
  { seed: 1587401689, run: 2, saveFaults: true, failovers: true, fixed: 'a node read its own entry back, relayed it, and was then told the append failed: the log had dropped it, and nodes that had not read it never got it (the node writes again what it read back of a failed append)' },
  { seed: 202339989, run: 14, saveFaults: true, failovers: true, fixed: 'an append failed while its writer left: the entry was dropped after another node kept it, and the log never held it again (the node writes its sockets\' updates of a failed append again itself)' },
  { seed: 978904940, run: 434, saveFaults: true, failovers: true, fixed: 'a member\'s resend waiting for the log to be read as far as it reached waited for good: the node got that far by a gap reload, which did not look at held updates again' },
  { seed: 1118747733, run: 27, saveFaults: true, failovers: true, fixed: 'a node took as its base another node\'s snapshot covering an entry it had read and the log had dropped: it let go of that content (kept since, as lost, and written again), and sockets got it twice when its relog came' },
  { seed: 660298016, run: 226, saveFaults: true, failovers: true, fixed: 'a room left memory owing the log what only it held (an append failed as it drained: it stays hot until written); then, a node stayed behind another node\'s snapshot for good (the entry it waited for was dropped, and with no newer entry its reader never saw the trim), so it never compacted again (found behind twice at the same place, it catches up)' },
  { seed: 250398836, run: 45, saveFaults: true, failovers: true, fixed: 'as above, for a chat' },
  { seed: 1240184909, run: 208, saveFaults: true, failovers: true, fixed: 'a parked update with holes was taken again and parked again, unchanged, for ever: the node hung (only a different effective part makes it ready)' },
]

it.each(FOUND)('the history found at seed $seed, run $run stays exact: $fixed', async ({ seed, run, resets, saveFaults, failovers }) => {
  await fc.assert(histories({ resets: resets ?? true, saveFaults: saveFaults ?? false, failovers: failovers ?? false }), { seed, path: String(run), numRuns: 1 })
}, 120_000)
