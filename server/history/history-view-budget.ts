/**
 * How many documents a user's history views may build per minute on this node. A version's
 * picture or messages, or a diff, builds the versions it needs in the doc worker (which every
 * room's sync answers and index builds share) unless the worker still holds them; so a viewer
 * cycling diffs of a big document over more versions than the worker keeps would take it from
 * everyone else. A token bucket per user (HISTORY_VIEWS_PER_MINUTE, refilled evenly over the
 * minute): a view reserves one version up front, so a burst of parallel requests cannot all pass
 * before any is charged; each further version it loads is charged; a view the worker answered
 * from what it held gets its reservation back. Without a version to reserve, 429 with
 * Retry-After. The offender pays: other members' views and everyone's syncs go on.
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

/** One view's account: its reservation covers the first version it loads. */
export interface ViewBill {
  /** A version's state is being loaded for this view. */
  loaded(): void
  /** The view is over: an unused reservation goes back. */
  close(): void
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

  /** Opens a view for `userId`, reserving one version; throws 429 (nothing reserved) without one. */
  open(userId: string): ViewBill {
    const entry = this.entry(userId)
    if (!entry.budget.spend(1, this.now())) {
      const retryAfter = Math.ceil(60 / this.perMinute)
      throw new HttpError(429, 'rate_limited', `your history views built ${this.perMinute} versions in the last minute, the most allowed; retry in ${retryAfter} s`, retryAfter)
    }
    let loads = 0
    return {
      loaded: () => {
        if (++loads > 1) entry.budget.charge(1, this.now()) // work under way is paid for, even past zero
      },
      close: () => {
        if (loads === 0) entry.budget.refund(1, this.now())
      },
    }
  }

  private entry(userId: string): Entry {
    const now = this.now()
    let entry = this.users.get(userId)
    if (!entry) {
      entry = { budget: new Budget({ capacity: this.perMinute, perSecond: this.perMinute / 60 }, now), usedAt: now }
      this.users.set(userId, entry, now)
    }
    entry.usedAt = now
    return entry
  }
}
