/**
 * A latency histogram with buckets 1% wide (log scale) from 10 µs to ~100 s: constant memory
 * however many samples, mergeable across generator processes, percentiles within 1%.
 */
const MIN_MS = 0.01
const GROWTH = 1.01
const BUCKETS = Math.ceil(Math.log(1e7) / Math.log(GROWTH)) + 1
const LOG_GROWTH = Math.log(GROWTH)

export class LatencyHistogram {
  readonly counts: number[]
  total = 0
  max = 0

  constructor(counts?: number[]) {
    this.counts = counts ? [...counts] : new Array<number>(BUCKETS).fill(0)
    for (const c of this.counts) this.total += c
  }

  add(ms: number): void {
    const bucket = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH))
    this.counts[bucket]!++
    this.total++
    if (ms > this.max) this.max = ms
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!
    this.total += other.total
    this.max = Math.max(this.max, other.max)
  }

  /** The upper bound of the bucket holding the p-th sample (p in 0..1); NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil(p * this.total))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return MIN_MS * GROWTH ** i
    }
    return this.max
  }
}
