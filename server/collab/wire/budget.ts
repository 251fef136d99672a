/**
 * A token bucket: `capacity` units, refilled at `perSecond`. What a socket, a user or an address
 * may spend; the offender runs dry, never anyone else.
 */
export interface BudgetRate {
  capacity: number
  perSecond: number
}

export class Budget {
  private tokens: number
  private updatedAt: number
  private readonly rate: BudgetRate

  constructor(rate: BudgetRate, now = performance.now()) {
    this.rate = rate
    this.tokens = rate.capacity
    this.updatedAt = now
  }

  /** Takes `units` if there are enough; false (and nothing taken) otherwise. */
  spend(units: number, now = performance.now()): boolean {
    this.refill(now)
    if (units > this.tokens) return false
    this.tokens -= units
    return true
  }

  /** Takes `units` even past zero (work already done must be paid for); false once in debt. */
  charge(units: number, now = performance.now()): boolean {
    this.refill(now)
    this.tokens -= units
    return this.tokens >= 0
  }

  /** Gives back `units` spent for work that was not done (never past `capacity`). */
  refund(units: number, now = performance.now()): void {
    this.refill(now)
    this.tokens = Math.min(this.rate.capacity, this.tokens + units)
  }

  /** Refilled to its capacity: as a fresh budget would be. */
  isFull(now = performance.now()): boolean {
    this.refill(now)
    return this.tokens >= this.rate.capacity
  }

  /** Spent past zero (by `charge`), and not refilled back yet. */
  inDebt(now = performance.now()): boolean {
    this.refill(now)
    return this.tokens < 0
  }

  /** How far past zero it was spent (0 when not in debt). */
  debt(now = performance.now()): number {
    this.refill(now)
    return Math.max(0, -this.tokens)
  }

  private refill(now: number): void {
    const seconds = Math.max(0, now - this.updatedAt) / 1000
    this.tokens = Math.min(this.rate.capacity, this.tokens + seconds * this.rate.perSecond)
    this.updatedAt = now
  }
}
