import { describe, expect, it } from 'vitest'
import { parseRetention, versionsToDrop } from '../../server/history/retention.ts'
import type { VersionRecord } from '../../server/storage/types.ts'

const H = 3_600_000
const D = 24 * H
const now = Date.UTC(2026, 10, 29, 12)
const rule = parseRetention('1d,30d')

function version(id: string, age: number, name: string | null = null): VersionRecord {
  return { id, room: 'g/canvas', createdAt: now - age, name, authors: [], bytes: 1 }
}

describe('version retention', () => {
  it('parses two ages with units and refuses anything else', () => {
    expect(parseRetention('1d,30d')).toEqual({ allFor: D, hourlyFor: 30 * D })
    expect(parseRetention('200ms, 2s')).toEqual({ allFor: 200, hourlyFor: 2_000 })
    for (const bad of ['', '1d', '1d,30d,1y', 'one,two', '30d,1d', '-1d,2d']) expect(() => parseRetention(bad), bad).toThrow()
  })

  it('keeps everything from the last day, the newest of each hour to 30 days, the newest of each day after', () => {
    const versions = [
      version('fresh-1', 10 * 60_000), version('fresh-2', 20 * 60_000), version('fresh-3', 23 * H),
      // two in one hour, two days ago: the newer stays
      version('hour-new', 2 * D + 10 * 60_000), version('hour-old', 2 * D + 40 * 60_000),
      // one in the next hour stays too
      version('hour-next', 2 * D + 70 * 60_000),
      // three on one day, 40 days ago: only the newest stays
      version('day-a', 40 * D + H), version('day-b', 40 * D + 2 * H), version('day-c', 40 * D + 3 * H),
    ] // now is 12:00 UTC: 11:50 and 11:20 two days ago share an hour, 10:50 does not
    const dropped = versionsToDrop(versions, now, rule)
    expect(dropped.sort()).toEqual(['day-b', 'day-c', 'hour-old'].sort())
  })

  it('never drops a named version', () => {
    const versions = [version('named-old', 40 * D + H, 'Before the party'), version('auto', 40 * D + 2 * H), version('named-new', 40 * D + 30 * 60_000, 'Final')]
    expect(versionsToDrop(versions, now, rule)).toEqual([])
  })

  it('keeps a version the rule drops while a kept version shares its state, and not once none does', () => {
    const root = version('day-old', 40 * D + 3 * H) // the rule drops it: day-new is newer that day
    const sharer = { ...version('named', 2 * H, 'Final'), sameAs: 'day-old' }
    const dayNew = version('day-new', 40 * D + H)
    expect(versionsToDrop([root, dayNew, sharer], now, rule)).toEqual([])
    // An automatic sharer the rule drops too frees it.
    const autoSharer = { ...version('auto-sharer', 40 * D + 2 * H), sameAs: 'day-old' }
    expect(versionsToDrop([root, dayNew, autoSharer], now, rule).sort()).toEqual(['auto-sharer', 'day-old'])
  })
})
