/**
 * How much canvas one user's pictures (GET /groups/:id/canvas.svg) may have the doc worker render
 * per minute on this node. A render walks the whole canvas in the worker every room's syncs and
 * history views share (a 2 MB canvas takes ~270 ms), and an editor changing one point before each
 * request misses the cache every time; so a render is charged the canvas's encoded size, which its
 * cost follows, where a count would let a big canvas cost many times a small one.
 *
 * A token bucket of bytes per user (`Budget`, CANVAS_RENDER_BYTES_PER_MINUTE, refilled evenly over
 * the minute): a render starts while the user is not in debt and is charged whole at once, even
 * past zero (one render of a canvas larger than the budget is possible, then paid back), so a
 * burst of parallel requests cannot all start before any is charged. In debt, 429 with
 * Retry-After until it is paid. The offender pays: other members' pictures and everyone's syncs go on.
 *
 * Memory: one small entry per user who rendered and is not refilled yet (swept-map.ts).
 */
import { HttpError } from '../../shared/http-error.ts'
import { Budget, type BudgetRate } from '../collab/wire/budget.ts'
import { SweptMap } from './swept-map.ts'

export class CanvasRenderBudget {
  private readonly rate: BudgetRate
  private readonly now: () => number
  /** A user whose budget has refilled is as a new one: forgotten. */
  private readonly users = new SweptMap<Budget>((budget, at) => budget.isFull(at))

  constructor(bytesPerMinute: number, now: () => number = () => performance.now()) {
    this.rate = { capacity: bytesPerMinute, perSecond: bytesPerMinute / 60 }
    this.now = now
  }

  /** Charges `userId` a render of a `bytes`-byte canvas, or throws 429 (nothing charged) while she is in debt. */
  charge(userId: string, bytes: number): void {
    const now = this.now()
    const budget = this.users.get(userId) ?? new Budget(this.rate, now)
    const debt = budget.debt(now)
    if (debt > 0) {
      const retryAfter = Math.max(1, Math.ceil(debt / this.rate.perSecond))
      throw new HttpError(429, 'rate_limited', `your canvas pictures had more than ${this.rate.capacity} bytes of canvas rendered in the last minute, the most allowed; retry in ${retryAfter} s`, retryAfter)
    }
    budget.charge(bytes, now)
    this.users.set(userId, budget, now)
  }
}
