/**
 * Log positions. Both log implementations use Redis Stream ids, `<ms>-<seq>`, so a snapshot's
 * watermark stays meaningful if a deployment moves from the embedded log to Redis.
 */
export type LogId = string

/** Before every entry. */
export const LOG_START: LogId = '0-0'

/** Hot path (every entry is compared a few times): no regex, no allocation beyond the pair. */
export function parseLogId(id: LogId): [ms: number, seq: number] {
  const dash = id.indexOf('-')
  const ms = dash > 0 ? Number(id.slice(0, dash)) : Number.NaN
  const seq = Number(id.slice(dash + 1))
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq) || ms < 0 || seq < 0 || dash === id.length - 1) throw new Error(`not a log id: ${id}`)
  return [ms, seq]
}

export function formatLogId(ms: number, seq: number): LogId {
  return `${ms}-${seq}`
}

export function compareLogIds(a: LogId, b: LogId): number {
  if (a === b) return 0
  const [aMs, aSeq] = parseLogId(a)
  const [bMs, bSeq] = parseLogId(b)
  return aMs !== bMs ? aMs - bMs : aSeq - bSeq
}

export function maxLogId(a: LogId, b: LogId): LogId {
  return compareLogIds(a, b) >= 0 ? a : b
}

/** The smallest id greater than `id` (turns "≤ id" into "< successor" for exclusive APIs). */
export function successorLogId(id: LogId): LogId {
  const [ms, seq] = parseLogId(id)
  return formatLogId(ms, seq + 1)
}

/** Fixed-width form whose string order equals log order (for keys and database comparisons). */
export function sortableLogId(id: LogId): string {
  const [ms, seq] = parseLogId(id)
  return `${String(ms).padStart(16, '0')}-${String(seq).padStart(16, '0')}`
}

export function fromSortableLogId(sortable: string): LogId {
  const [ms, seq] = sortable.split('-')
  return formatLogId(Number(ms), Number(seq))
}

/** Issues increasing ids from a millisecond clock, like a Redis stream does. */
export class LogIdClock {
  private lastMs = 0
  private seq = 0

  next(now = Date.now()): LogId {
    if (now > this.lastMs) {
      this.lastMs = now
      this.seq = 0
    } else {
      this.seq++
    }
    return formatLogId(this.lastMs, this.seq)
  }

  /** Never issue an id at or below one already stored (clock moved back across a restart). */
  observe(id: LogId): void {
    const [ms, seq] = parseLogId(id)
    if (ms > this.lastMs || (ms === this.lastMs && seq > this.seq)) {
      this.lastMs = ms
      this.seq = seq
    }
  }
}
