/**
 * One conformance suite for the UpdateLog interface, run against every implementation
 * (embedded LevelDB here; Redis Streams in redis-log.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { compareLogIds, LOG_START } from '../../server/log/log-id.ts'
import type { LogEntry, UpdateLog } from '../../server/log/types.ts'
import { waitFor } from '../helpers/wait.ts'

export interface LogFixture {
  log: UpdateLog
  /** Closes the log and opens it again on the same data. */
  reopen(): Promise<UpdateLog>
  cleanup(): Promise<void>
}

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values)
let roomCounter = 0
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

    it('appends in order with increasing ids and reads them back', async () => {
      const room = freshRoom()
      const first = await log.append(room, [bytes(1), bytes(2)])
      const second = await log.append(room, [bytes(3)])
      const ids = [...first, ...second]
      for (let i = 1; i < ids.length; i++) expect(compareLogIds(ids[i - 1]!, ids[i]!)).toBeLessThan(0)
      const entries = await log.read(room, LOG_START, 100)
      expect(entries.map((e) => e.id)).toEqual(ids)
      expect(entries.map((e) => [...e.update])).toEqual([[1], [2], [3]])
    })

    it('reads after a position, bounded by the limit', async () => {
      const room = freshRoom()
      const ids = await log.append(room, [bytes(1), bytes(2), bytes(3), bytes(4)])
      expect((await log.read(room, ids[1]!, 100)).map((e) => [...e.update])).toEqual([[3], [4]])
      expect((await log.read(room, LOG_START, 2)).map((e) => [...e.update])).toEqual([[1], [2]])
      expect(await log.read(room, ids[3]!, 100)).toEqual([])
    })

    it('keeps rooms apart, including rooms whose names share a prefix', async () => {
      const room = freshRoom()
      await log.append(room, [bytes(1)])
      await log.append(`${room}x`, [bytes(2)])
      expect((await log.read(room, LOG_START, 10)).map((e) => [...e.update])).toEqual([[1]])
      expect(await log.size(room)).toBe(1)
    })

    it('trims entries up to and including an id', async () => {
      const room = freshRoom()
      const ids = await log.append(room, [bytes(1), bytes(2), bytes(3)])
      await log.trim(room, ids[1]!)
      expect((await log.read(room, LOG_START, 10)).map((e) => [...e.update])).toEqual([[3]])
      expect(await log.size(room)).toBe(1)
    })

    it('lists rooms with entries for compaction', async () => {
      const a = freshRoom()
      const b = freshRoom()
      const ids = await log.append(a, [bytes(1)])
      await log.append(b, [bytes(2)])
      await log.trim(a, ids[0]!)
      const rooms = await log.roomsWithEntries()
      expect(rooms).toContain(b)
      expect(rooms).not.toContain(a)
    })

    it('delivers every appended entry to subscribers once, in order', async () => {
      const room = freshRoom()
      const seen: LogEntry[] = []
      let appended: string[] = []
      const subscription = log.subscribe(room, LOG_START, {
        entries: (_room, entries) => seen.push(...entries),
        gap: () => {
          throw new Error('no gap expected')
        },
      })
      try {
        for (let i = 0; i < 20; i++) appended = [...appended, ...(await log.append(room, [bytes(i)]))]
        await waitFor(() => seen.length >= 20)
        expect(seen.map((e) => e.id)).toEqual(appended)
        expect(seen.map((e) => e.update[0])).toEqual(Array.from({ length: 20 }, (_, i) => i))
      } finally {
        subscription.close()
      }
    })

    it('keeps entries across a reopen', async () => {
      const room = freshRoom()
      await log.append(room, [bytes(7)])
      log = await fixture.reopen()
      expect((await log.read(room, LOG_START, 10)).map((e) => [...e.update])).toEqual([[7]])
      const [next] = await log.append(room, [bytes(8)])
      const entries = await log.read(room, LOG_START, 10)
      expect(entries.at(-1)?.id).toBe(next)
      expect(entries).toHaveLength(2)
    })
  })
}
