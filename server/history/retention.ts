/**
 * Which automatic versions to keep as they age (named versions are kept forever):
 * every one younger than `allFor`, then the newest of each hour until `hourlyFor`, then the
 * newest of each day. VERSION_RETENTION spells the two ages: "1d,30d" (the default).
 */
import type { VersionRecord } from '../storage/types.ts'

export interface Retention {
  allFor: number
  hourlyFor: number
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const HOUR = UNITS.h!
const DAY = UNITS.d!

/** "1d,30d" → ages in ms; throws on anything else (config reports it). */
export function parseRetention(raw: string): Retention {
  const ages = raw.split(',').map((part) => parseAge(part.trim()))
  if (ages.length !== 2 || ages.some((age) => age === null)) throw new Error('must be two ages, "<keep all for>,<keep hourly for>", e.g. "1d,30d"')
  const [allFor, hourlyFor] = ages as [number, number]
  if (hourlyFor < allFor) throw new Error('the hourly age must not be shorter than the first')
  return { allFor, hourlyFor }
}

function parseAge(text: string): number | null {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text)
  return match ? Number(match[1]) * UNITS[match[2]!]! : null
}

/**
 * The ids of automatic versions the rule no longer keeps, except those whose state a kept version
 * shares (`sameAs`).
 */
export function versionsToDrop(versions: readonly VersionRecord[], now: number, rule: Retention): string[] {
  const drop = new Set(byRule(versions, now, rule))
  const shared = new Set(versions.filter((v) => v.sameAs !== undefined && !drop.has(v.id)).map((v) => v.sameAs))
  return [...drop].filter((id) => !shared.has(id))
}

function byRule(versions: readonly VersionRecord[], now: number, rule: Retention): string[] {
  const keptBuckets = new Set<string>()
  const drop: string[] = []
  const newestFirst = [...versions].sort((a, b) => b.createdAt - a.createdAt || (b.id < a.id ? -1 : 1))
  for (const version of newestFirst) {
    if (version.name !== null) continue
    const bucket = bucketOf(now - version.createdAt, version.createdAt, rule)
    if (bucket === null) continue
    if (keptBuckets.has(bucket)) drop.push(version.id)
    else keptBuckets.add(bucket)
  }
  return drop
}

/** Null: kept whatever (young enough); else the period it shares with others of its age band. */
function bucketOf(age: number, createdAt: number, rule: Retention): string | null {
  if (age < rule.allFor) return null
  if (age < rule.hourlyFor) return `h${Math.floor(createdAt / HOUR)}`
  return `d${Math.floor(createdAt / DAY)}`
}
