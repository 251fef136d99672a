/**
 * How many versions a user may write (name or restore: each stores a whole copy of the document)
 * per hour, on this node: a fixed window per user, started by the user's first write in it. Past
 * the budget, 429 with Retry-After until the window ends. One budget for both routes, which a
 * per-route rate limiter would split in two.
 *
 * Memory: one small entry per user who wrote in the last hour (swept-map.ts).
 */
import { HttpError } from '../../shared/http-error.ts'
import { SweptMap } from './swept-map.ts'

export const VERSION_WINDOW_MS = 3_600_000

interface Window {
  start: number
  used: number
}

export class VersionWriteBudget {
  private readonly perHour: number
  private readonly now: () => number
  /** Windows that ended are forgotten. */
  private readonly windows = new SweptMap<Window>((window, now) => now - window.start >= VERSION_WINDOW_MS)

  constructor(perHour: number, now: () => number = Date.now) {
    this.perHour = perHour
    this.now = now
  }

  /** Spends one write of `userId`'s budget, or throws 429 (nothing spent). */
  spend(userId: string): void {
    const now = this.now()
    let window = this.windows.get(userId)
    if (!window || now - window.start >= VERSION_WINDOW_MS) {
      window = { start: now, used: 0 }
      this.windows.set(userId, window, now)
    }
    if (window.used >= this.perHour) {
      const retryAfter = Math.ceil((window.start + VERSION_WINDOW_MS - now) / 1000)
      throw new HttpError(429, 'rate_limited', `you named or restored ${this.perHour} versions in the last hour, the most allowed; retry in ${retryAfter} s`, retryAfter)
    }
    window.used++
  }

  /** Gives back a write that stored nothing (refused by a quota, the room, or the log). */
  refund(userId: string): void {
    const window = this.windows.get(userId)
    if (window && window.used > 0) window.used--
  }
}
