/**
 * The room core alone (room/room-core.ts), driven by generated logs: entries carrying any mix of
 * a history's updates (re-sends, overlaps, out of order), some of them this node's own, whose
 * append answers arrive before, between or after the reads (or fail although the entry landed).
 * Whatever the order, after every step:
 * - a fold up to the position holds exactly what the log's entries up to there carry (so a
 *   snapshot covering an entry holds all of it, whichever node folds: the order this node's own
 *   entries entered in must not matter);
 * - every struct clock and deletion reached the sockets once, and is held once.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { LOG_START, type LogId } from '../../server/log/log-id.ts'
import type { LogEntry } from '../../server/log/types.ts'
import { RoomCore, type CorePorts } from '../../server/collab/room/room-core.ts'
import type { Accepted } from '../../server/collab/room/doc-bytes.ts'
import type { PendingWrite } from '../../server/collab/room/room-writer.ts'
import { SERVER } from '../../server/collab/room/origins.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { deletedKeys, structKeys } from '../sim/sim-client.ts'

/** Two writers' updates, made in turns, each seen by the other (so later ones build on earlier ones). */
function history(steps: readonly number[]): Uint8Array[] {
  const docs = [new Y.Doc(), new Y.Doc()]
  docs[0]!.clientID = 11
  docs[1]!.clientID = 22
  const updates: Uint8Array[] = []
  for (const doc of docs) doc.on('update', (update: Uint8Array, origin: unknown) => { if (origin !== 'peer') updates.push(update) })
  for (const step of steps) {
    const doc = docs[step % 2]!
    const text = doc.getText('t')
    if (step % 3 === 0 && text.length > 0) text.delete(step % text.length, 1)
    else text.insert(step % (text.length + 1), String.fromCharCode(97 + (step % 26)))
    Y.applyUpdate(docs[1 - (step % 2)]!, updates.at(-1)!, 'peer')
  }
  return updates
}

interface PlannedEntry {
  /** Which of the history's updates it carries (merged). */
  carries: number[]
  /** Sent by this node: its append's answer arrives before reading entry `answerBefore`. */
  own?: { answerBefore: number; failed: boolean }
}

const plannedEntries = (updates: number): fc.Arbitrary<PlannedEntry[]> =>
  fc.array(
    fc.record({
      carries: fc.uniqueArray(fc.nat({ max: updates - 1 }), { minLength: 1, maxLength: 4 }),
      own: fc.option(fc.record({ answerBefore: fc.nat({ max: 12 }), failed: fc.boolean() }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 10 },
  )

const EMPTY_BASE = { pieces: [], infos: [], full: 0, watermark: LOG_START, stateVector: new Map(), bindings: new Map() }

class Harness {
  readonly relayed: Uint8Array[] = []
  /** What the core handed back to be written to the log again. */
  readonly lost: PendingWrite[] = []
  readonly core: RoomCore

  constructor() {
    const ports: CorePorts = {
      relay: (update) => this.relayed.push(update),
      trust: () => {},
      logged: () => {},
      diff: () => Promise.resolve([]),
      infoOf: (update) => updateInfo(update),
      changed: () => {},
      lost: (writes) => this.lost.push(...writes),
    }
    this.core = new RoomCore({ base: EMPTY_BASE, entries: [] }, 'node-a', ports)
  }
}

function keysOf(updates: readonly Uint8Array[]): { structs: string[]; deleted: string[] } {
  if (updates.length === 0) return { structs: [], deleted: [] }
  const merged = Y.mergeUpdates([...updates])
  return { structs: structKeys(merged).sort(), deleted: deletedKeys(merged).sort() }
}

/** Each struct clock and deletion, counted over all the updates. */
function counts(updates: readonly Uint8Array[]): Map<string, number> {
  const seen = new Map<string, number>()
  for (const update of updates) for (const key of [...structKeys(update), ...deletedKeys(update).map((k) => `del ${k}`)]) seen.set(key, (seen.get(key) ?? 0) + 1)
  return seen
}

function run(updates: Uint8Array[], planned: PlannedEntry[]): void {
  const { core, relayed } = new Harness()
  const entries: LogEntry[] = planned.map((p, i) => ({ id: `${i + 1}-0` as LogId, tag: '', updates: [{ writer: p.own ? 'ann' : 'bob', update: Y.mergeUpdates(p.carries.map((u) => updates[u]!)) }] }))
  // Own appends go one at a time (room-writer.ts): each answer comes no earlier than the one before.
  let earliest = 0
  const answers: Array<{ entry: number; before: number; failed: boolean }> = []
  planned.forEach((p, i) => {
    if (!p.own) return
    earliest = Math.max(earliest, Math.min(p.own.answerBefore, planned.length))
    answers.push({ entry: i, before: earliest, failed: p.own.failed })
    const { update } = entries[i]!.updates[0]!
    const write: PendingWrite = { update, info: updateInfo(update), writer: 'ann', origin: SERVER }
    entries[i]!.tag = core.sent([write])
  })
  for (let next = 0; next <= entries.length; next++) {
    for (const answer of answers.filter((a) => a.before === next)) {
      const { id, tag } = entries[answer.entry]!
      if (answer.failed) core.appendFailed(tag)
      else core.appended(tag, id)
    }
    if (next < entries.length) core.read([entries[next]!])
    checkFold(core, entries)
  }
  for (const [key, times] of counts(relayed)) expect(times, `${key} relayed`).toBe(1)
  // What builds on clocks no entry carries stays parked, unsent (as Yjs holds it pending).
  const parked = core.doc.parkedUpdates.map((a) => a.update)
  expect(keysOf([...relayed, ...parked])).toEqual(keysOf(entries.flatMap((e) => e.updates.map((u) => u.update))))
}

/** A fold up to the position holds what the log's entries up to it carry, each clock once. */
function checkFold(core: RoomCore, entries: readonly LogEntry[]): void {
  const upTo = Number(core.position.split('-')[0])
  const plan = core.foldPlan()
  const folded = [...plan.base.pieces, ...plan.updates.map((a) => a.update)]
  expect(keysOf(folded), `fold up to ${core.position}`).toEqual(keysOf(entries.slice(0, upTo).flatMap((e) => e.updates.map((u) => u.update))))
  const held = counts([...plan.base.pieces, ...core.doc.contents().since.map((a) => a.update)])
  for (const [key, times] of held) expect(times, `${key} held`).toBe(1)
}

it('a fold up to any position holds what the entries up to it carry, whatever order own entries entered in', () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 1000 }), { minLength: 2, maxLength: 12 }).chain((steps) => fc.tuple(fc.constant(history(steps)), plannedEntries(steps.length))), ([updates, planned]) => {
      run(updates, planned)
    }),
    { numRuns: Number(process.env.CORE_RUNS ?? 400) },
  )
})

it('an own entry answered before an earlier entry carrying the same content is read: the earlier entry holds it', () => {
  const updates = history([1, 2, 3])
  // Entry 1 (another node's) and entry 2 (this node's, answered first) both carry update 0.
  run(updates, [{ carries: [0] }, { carries: [0, 1], own: { answerBefore: 0, failed: false } }])
  // The same when this node's earlier append seemed to fail but landed, and the client re-sent it.
  run(updates, [{ carries: [0, 1], own: { answerBefore: 0, failed: true } }, { carries: [0, 1, 2], own: { answerBefore: 0, failed: false } }])
})

/** Keys a fold up to the core's position holds must include. */
function foldHolds(core: RoomCore, ...expected: Uint8Array[]): void {
  const plan = core.foldPlan()
  const folded = keysOf([...plan.base.pieces, ...plan.updates.map((a) => a.update)])
  for (const key of keysOf(expected).structs) expect(folded.structs, `fold up to ${core.position}`).toContain(key)
}

/** The update the core holds, lost by the log and not logged again yet, that holds `content`. */
function lostOne(core: RoomCore, content: Uint8Array): Accepted {
  const wanted = JSON.stringify(keysOf([content]).structs)
  const lost = core.doc.contents().since.filter((a) => a.relogged === null && JSON.stringify(keysOf([a.update]).structs) === wanted)
  expect(lost).toHaveLength(1)
  return lost[0]!
}

function relogOf(held: Accepted): PendingWrite {
  return { update: held.update, info: held.info, writer: held.writer, origin: SERVER, relogOf: held }
}

it('after the log lost its entries, an entry read carrying what a lost update holds is where a fold finds it, before the update\'s own relog lands', () => {
  const [u0, u1] = history([1, 2])
  const { core } = new Harness()
  const both = Y.mergeUpdates([u0!, u1!])
  core.read([{ id: '1-0', tag: '', updates: [{ writer: 'bob', update: both }] }])
  core.logLost() // a Redis restarted empty: what the room holds goes to the log again
  const tag = core.sent([relogOf(lostOne(core, both))])
  core.read([{ id: '2-0', tag: '', updates: [{ writer: 'bob', update: both }] }]) // another node's relog of it, first
  core.appended(tag, '3-0') // this node's own, after
  foldHolds(core, u0!, u1!) // a snapshot up to entry 2 holds what entry 2 carries
})

it('a lost update partly carried by an entry read keeps its own relog: landing after a second loss, it still places the rest', () => {
  const [u0, u1, u2] = history([1, 2, 3])
  const { core } = new Harness()
  const both = Y.mergeUpdates([u0!, u1!])
  core.read([{ id: '1-0', tag: '', updates: [{ writer: 'bob', update: both }] }])
  core.logLost()
  const first = relogOf(lostOne(core, both)) // queued, not sent yet
  core.read([{ id: '2-0', tag: '', updates: [{ writer: 'bob', update: u0! }] }]) // carries part of it
  foldHolds(core, u0!)
  core.logLost() // lost again before the first relog was even sent
  const second = relogOf(lostOne(core, u1!)) // what is left of it, relogged for the second loss
  const firstTag = core.sent([first])
  const secondTag = core.sent([second])
  core.appended(firstTag, '3-0') // landed after the second loss: it is in the log
  core.appended(secondTag, '5-0')
  core.read([{ id: '4-0', tag: '', updates: [{ writer: 'bob', update: u2! }] }])
  foldHolds(core, u0!, u1!, u2!) // entry 3 carries u1: a snapshot up to 4 must hold it
})

it('what a claim moves off an update a running fold planned is recorded with it: after a failed save, the next fold does not record it again', () => {
  const [u0, u1] = history([1, 5]) // both by client 22
  const { core } = new Harness()
  core.read([{ id: '1-0', tag: '', updates: [{ writer: 'bob', update: Y.mergeUpdates([u0!, u1!]) }] }])
  core.logLost() // lost: a fold takes it whatever the position, and an entry read may claim part of it
  const recorded = core.foldPlan().updates.filter((a) => !a.recorded) // a compaction's plan and edit records (compactor.ts snapshotHot)
  core.read([{ id: '2-0', tag: '', updates: [{ writer: 'bob', update: u0! }] }]) // while it folds: u0's struct moves to entry 2
  core.markRecorded(recorded) // history has all of the update as planned; then the snapshot save fails (no new base)
  const again = core.foldPlan().updates.filter((a) => !a.recorded)
  expect(keysOf(again.map((a) => a.update)).structs, 'recorded again by the next fold').toEqual([])
})

/** This node's write of `update`, sent to the log and read back as entry `id` before its append answered. */
function readBackBeforeAnswer(core: RoomCore, update: Uint8Array, id: LogId): string {
  const tag = core.sent([{ update, info: updateInfo(update), writer: 'ann', origin: SERVER }])
  core.read([{ id, tag, updates: [{ writer: 'ann', update }] }])
  return tag
}

it('an own entry read back before its append failed is written again (a failover may drop it), and placed where the relog lands', () => {
  const [u0] = history([1])
  const { core, lost, relayed } = new Harness()
  const tag = readBackBeforeAnswer(core, u0!, '1-0')
  expect(relayed).toHaveLength(1) // entered once, when read
  core.appendFailed(tag) // e.g. its Redis master died before a replica had it
  const held = core.doc.contents().since
  expect(held).toHaveLength(1)
  expect(held[0]!.relogged, 'nowhere in the log until written again').toBeNull()
  expect(lost).toEqual([expect.objectContaining({ update: held[0]!.update, writer: 'ann', relogOf: held[0] })])
  foldHolds(core, u0!) // a fold meanwhile holds it (a snapshot must, while the log may not)
  core.appended(core.sent(lost.splice(0)), '2-0')
  expect(held[0]!.relogged).toBe('2-0')
  expect(relayed, 'nothing relayed twice').toHaveLength(1)
  // Answered (not failed) after it was read: nothing is written again.
  const [, u1] = history([1, 2])
  core.appended(readBackBeforeAnswer(core, u1!, '3-0'), '3-0')
  expect(lost).toEqual([])
})

it('an own entry a fold took before its append failed is written again as it was: nodes that never read it read it then', async () => {
  const [u0] = history([1])
  const { core, lost } = new Harness()
  const tag = readBackBeforeAnswer(core, u0!, '1-0')
  const plan = core.foldPlan()
  expect(await core.adoptBase({ ...plan.base, pieces: [u0!], infos: [updateInfo(u0!)], full: 1, watermark: plan.watermark, stateVector: new Map(Y.decodeStateVector(Y.encodeStateVectorFromUpdate(u0!))) })).toBe(true)
  expect(core.doc.contents().since).toEqual([])
  core.appendFailed(tag)
  expect(lost).toEqual([expect.objectContaining({ update: u0, writer: 'ann' })])
  expect(lost[0]!.relogOf).toBeUndefined()
})
