/**
 * A map of small per-user entries (budgets) that forgets expired ones without a timer: when it
 * has grown past twice the entries it kept after the last sweep (at least 1,024), adding one
 * sweeps out every entry `expired` says is done. Amortized O(1) per addition.
 */
export class SweptMap<V> {
  private readonly entries = new Map<string, V>()
  private readonly expired: (entry: V, now: number) => boolean
  private sweepAt = 1024

  constructor(expired: (entry: V, now: number) => boolean) {
    this.expired = expired
  }

  get(key: string): V | undefined {
    return this.entries.get(key)
  }

  set(key: string, entry: V, now: number): void {
    this.entries.set(key, entry)
    if (this.entries.size < this.sweepAt) return
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.entries.delete(k)
    this.sweepAt = Math.max(1024, 2 * this.entries.size)
  }

  get size(): number {
    return this.entries.size
  }
}
