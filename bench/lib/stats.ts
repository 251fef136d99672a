/** Percentiles and medians over measured samples. */
export interface Summary {
  n: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  const mean = sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length)
  return { n: sorted.length, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN, mean }
}

export function median(values: number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return Number.NaN
  const mid = Math.floor(finite.length / 2)
  return finite.length % 2 ? finite[mid] as number : ((finite[mid - 1] as number) + (finite[mid] as number)) / 2
}

/** Median of each field over rounds. */
export function medianSummary(rounds: Summary[]): Summary {
  const field = (key: keyof Summary): number => median(rounds.map((r) => r[key]))
  return { n: field('n'), p50: field('p50'), p90: field('p90'), p99: field('p99'), max: field('max'), mean: field('mean') }
}
