/**
 * One conformance suite for the UpdateLog interface, run against every implementation
 * (embedded LevelDB here; Redis Streams in redis-log.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { compareLogIds, LOG_START } from '../../server/log/log-id.ts'
import { DocumentFullError, type AppendLimit, type DocBase, type LogEntry, type LoggedUpdate, type UpdateLog } from '../../server/log/types.ts'
import { waitFor } from '../helpers/wait.ts'

export interface LogFixture {
  log: UpdateLog
  /** Closes the log and opens it again on the same data. */
  reopen(): Promise<UpdateLog>
  cleanup(): Promise<void>
}

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values)
/** A batch of one-byte updates, each written by `writer`. */
const batch = (writer: string, ...values: number[]): LoggedUpdate[] => values.map((v) => ({ writer, update: bytes(v) }))
/** The first byte of every update of every entry, in log order. */
const firstBytes = (entries: LogEntry[]): number[] => entries.flatMap((e) => e.updates.map((u) => u.update[0]!))
let roomCounter = 0
/** One update of `size` bytes, written by `writer`. */
const sized = (writer: string, size: number): LoggedUpdate[] => [{ writer, update: new Uint8Array(size).fill(1) }]
const EMPTY_BASE: DocBase = { watermark: LOG_START, bytes: 0 }
const limit = (maxDocBytes: number, base = EMPTY_BASE): AppendLimit => ({ maxDocBytes, base })
const freshRoom = (): string => `conformance${Date.now().toString(36)}${roomCounter++}/canvas`

export function describeLogConformance(name: string, open: () => Promise<LogFixture>): void {
  describe(`UpdateLog conformance: ${name}`, () => {
    let fixture: LogFixture
    let log: UpdateLog

    beforeEach(async () => {
      fixture = await open()
      log = fixture.log
    })

    afterEach(async () => {
      await fixture.cleanup()
    })

    it('appends batches as one entry each, with increasing ids, and reads them back', async () => {
      const room = freshRoom()
      const first = await log.append(room, batch('ann', 1, 2))
      const second = await log.append(room, batch('bob', 3))
      expect(compareLogIds(first, second)).toBeLessThan(0)
      const entries = await log.read(room, LOG_START, 100)
      expect(entries.map((e) => e.id)).toEqual([first, second])
      expect(entries.map((e) => e.updates.map((u) => [u.writer, [...u.update]]))).toEqual([[['ann', [1]], ['ann', [2]]], [['bob', [3]]]])
    })

    it('keeps each update\'s writer, in batch order, including mixed writers and empty names', async () => {
      const room = freshRoom()
      await log.append(room, [{ writer: 'ann', update: bytes(1, 2, 3) }, { writer: '', update: bytes(4) }, { writer: 'bob', update: new Uint8Array(70_000).fill(9) }])
      const [entry] = await log.read(room, LOG_START, 10)
      expect(entry!.updates.map((u) => u.writer)).toEqual(['ann', '', 'bob'])
      expect(entry!.updates.map((u) => u.update.length)).toEqual([3, 1, 70_000])
      expect(entry!.updates[2]!.update.every((b) => b === 9)).toBe(true)
    })

    it('reads after a position, bounded by the limit', async () => {
      const room = freshRoom()
      const ids = []
      for (const value of [1, 2, 3, 4]) ids.push(await log.append(room, batch('ann', value)))
      expect(firstBytes(await log.read(room, ids[1]!, 100))).toEqual([3, 4])
      expect(firstBytes(await log.read(room, LOG_START, 2))).toEqual([1, 2])
      expect(await log.read(room, ids[3]!, 100)).toEqual([])
    })

    it('keeps rooms apart, including rooms whose names share a prefix', async () => {
      const room = freshRoom()
      await log.append(room, batch('ann', 1))
      await log.append(`${room}x`, batch('ann', 2))
      expect(firstBytes(await log.read(room, LOG_START, 10))).toEqual([1])
      expect(await log.size(room)).toBe(1)
    })

    it('trims entries up to and including an id', async () => {
      const room = freshRoom()
      const ids = []
      for (const value of [1, 2, 3]) ids.push(await log.append(room, batch('ann', value)))
      await log.trim(room, ids[1]!)
      expect(firstBytes(await log.read(room, LOG_START, 10))).toEqual([3])
      expect(await log.size(room)).toBe(1)
    })

    it('keeps the head at the newest id ever appended, even once a trim removed every entry', async () => {
      const room = freshRoom()
      expect(await log.head(room)).toBe(LOG_START)
      const ids = []
      for (const value of [1, 2]) ids.push(await log.append(room, batch('ann', value)))
      expect(await log.head(room)).toBe(ids[1])
      await log.trim(room, ids[1]!)
      expect(await log.read(room, LOG_START, 10)).toEqual([])
      expect(await log.head(room)).toBe(ids[1])
    })

    it('forgets a deleted room whole: no entries, and its head back at the start', async () => {
      const room = freshRoom()
      const id = await log.append(room, batch('ann', 1))
      await log.trim(room, id)
      await log.deleteRoom(room)
      expect(await log.head(room)).toBe(LOG_START)
      expect(await log.read(room, LOG_START, 10)).toEqual([])
      expect(await log.roomsWithEntries()).not.toContain(room)
    })

    it('delivers nothing to a closed subscription, and still to the room\'s other subscribers', async () => {
      const room = freshRoom()
      const closed: LogEntry[] = []
      const open: LogEntry[] = []
      const quiet = { gap: () => { throw new Error('no gap expected') } }
      log.subscribe(room, LOG_START, { entries: (_room, entries) => closed.push(...entries), ...quiet }).close()
      const subscription = log.subscribe(room, LOG_START, { entries: (_room, entries) => open.push(...entries), ...quiet })
      try {
        const id = await log.append(room, batch('ann', 1))
        await waitFor(() => open.some((e) => e.id === id)) // delivered to every subscriber at once
        expect(closed).toEqual([])
      } finally {
        subscription.close()
      }
    })

    it('lists rooms with entries for compaction', async () => {
      const a = freshRoom()
      const b = freshRoom()
      const id = await log.append(a, batch('ann', 1))
      await log.append(b, batch('ann', 2))
      await log.trim(a, id)
      const rooms = await log.roomsWithEntries()
      expect(rooms).toContain(b)
      expect(rooms).not.toContain(a)
    })

    it('delivers every appended entry to subscribers once, in order', async () => {
      const room = freshRoom()
      const seen: LogEntry[] = []
      const appended: string[] = []
      const subscription = log.subscribe(room, LOG_START, {
        entries: (_room, entries) => seen.push(...entries),
        gap: () => {
          throw new Error('no gap expected')
        },
      })
      try {
        for (let i = 0; i < 20; i++) appended.push(await log.append(room, batch('ann', i)))
        await waitFor(() => seen.length >= 20)
        expect(seen.map((e) => e.id)).toEqual(appended)
        expect(firstBytes(seen)).toEqual(Array.from({ length: 20 }, (_, i) => i))
      } finally {
        subscription.close()
      }
    })

    it('keeps entries across a reopen', async () => {
      const room = freshRoom()
      await log.append(room, batch('ann', 7))
      log = await fixture.reopen()
      expect(firstBytes(await log.read(room, LOG_START, 10))).toEqual([7])
      const next = await log.append(room, batch('ann', 8))
      const entries = await log.read(room, LOG_START, 10)
      expect(entries.at(-1)?.id).toBe(next)
      expect(entries).toHaveLength(2)
    })

    it('refuses an append with a limit that would pass it, logging nothing, and counts appends without one', async () => {
      const room = freshRoom()
      const base = { watermark: LOG_START, bytes: 10 }
      await log.append(room, sized('ann', 40), { limit: limit(100, base) })
      await log.append(room, sized('bob', 30)) // a deletion, say: no limit, but its bytes count
      const refused = log.append(room, sized('eve', 21), { limit: limit(100, base) })
      await expect(refused).rejects.toBeInstanceOf(DocumentFullError)
      await expect(refused).rejects.toMatchObject({ bytes: 80 })
      expect(await log.size(room)).toBe(2)
      await log.append(room, sized('eve', 20), { limit: limit(100, base) }) // exactly at the limit
      expect(await log.size(room)).toBe(3)
    })

    it('counts a document from the writer\'s snapshot and every entry after it, whoever wrote them', async () => {
      const room = freshRoom()
      const folded = await log.append(room, sized('ann', 60)) // in the writer's snapshot below
      await log.append(room, sized('bob', 30))
      const base = { watermark: folded, bytes: 50 }
      await expect(log.append(room, sized('eve', 21), { limit: limit(100, base) })).rejects.toBeInstanceOf(DocumentFullError)
      await log.append(room, sized('eve', 20), { limit: limit(100, base) })
    })

    it('counts from a stored snapshot once trimmed to it, even for a writer that still holds an older one', async () => {
      const room = freshRoom()
      const id = await log.append(room, sized('ann', 80), { limit: limit(100) })
      await expect(log.append(room, sized('bob', 85), { limit: limit(100) })).rejects.toBeInstanceOf(DocumentFullError)
      await log.trim(room, id, 10) // the snapshot folded the 80 bytes into 10
      await log.append(room, sized('bob', 85), { limit: limit(100) })
      await expect(log.append(room, sized('bob', 6), { limit: limit(100) })).rejects.toBeInstanceOf(DocumentFullError)
    })

    it('keeps counting across a reopen, and forgets a deleted room\'s count', async () => {
      const room = freshRoom()
      await log.append(room, sized('ann', 80), { limit: limit(100) })
      log = await fixture.reopen()
      await expect(log.append(room, sized('bob', 30), { limit: limit(100) })).rejects.toBeInstanceOf(DocumentFullError)
      await log.deleteRoom(room)
      await log.append(room, sized('bob', 90), { limit: limit(100) })
    })
  })
}
