/**
 * How many documents a user's history views may build per minute on this node. A version's
 * picture or messages, or a diff, builds the versions it needs in the doc worker (which every
 * room's sync answers and index builds share) unless the worker still holds them; so a viewer
 * cycling diffs of a big document over more versions than the worker keeps would take it from
 * everyone else. Each version state loaded for a view is charged to its user (a token bucket,
 * HISTORY_VIEWS_PER_MINUTE, refilled evenly over the minute); a view answered from what the
 * worker holds costs nothing. A user in debt gets 429 with Retry-After until it refills. The
 * offender pays: other members' views and everyone's syncs go on.
 *
 * Memory: one small entry per user who viewed in the last minute (swept-map.ts).
 */
import { HttpError } from '../../shared/http-error.ts'
import { Budget } from '../collab/wire/budget.ts'
import { SweptMap } from './swept-map.ts'

const IDLE_MS = 60_000

interface Entry {
  budget: Budget
  usedAt: number
}

export class HistoryViewBudget {
  private readonly perMinute: number
  private readonly now: () => number
  /** Entries idle for a minute are full again: forgotten. */
  private readonly users = new SweptMap<Entry>((entry, now) => now - entry.usedAt >= IDLE_MS)

  constructor(perMinute: number, now: () => number = () => performance.now()) {
    this.perMinute = perMinute
    this.now = now
  }

  /** Throws 429 while `userId` owes for documents built before. */
  admit(userId: string): void {
    const entry = this.users.get(userId)
    if (!entry?.budget.inDebt(this.now())) return
    const retryAfter = Math.ceil(60 / this.perMinute)
    throw new HttpError(429, 'rate_limited', `your history views built ${this.perMinute} versions in the last minute, the most allowed; retry in ${retryAfter} s`, retryAfter)
  }

  /** Charges one document built for `userId` (work under way is paid for, even past zero). */
  charge(userId: string): void {
    const now = this.now()
    let entry = this.users.get(userId)
    if (!entry) {
      entry = { budget: new Budget({ capacity: this.perMinute, perSecond: this.perMinute / 60 }, now), usedAt: now }
      this.users.set(userId, entry, now)
    }
    entry.usedAt = now
    entry.budget.charge(1, now)
  }
}
