/**
 * How much a user may write into version history (name, restore, roll back: each stores a whole
 * copy of the document) per hour, on this node: a fixed window per user, started by the user's
 * first write in it, counting both writes (VERSION_WRITES_PER_HOUR) and the bytes of the copies
 * they store (VERSION_WRITE_BYTES_PER_HOUR). A count alone would let one editor add a stroke
 * before each name (so no copy is shared) and store a whole big document per request. Past
 * either, 429 with Retry-After until the window ends. One budget for every route, which a
 * per-route rate limiter would split.
 *
 * A write is spent before anything is read (so parallel requests cannot all pass), then its copy
 * is charged once its size is known, before anything is stored; a write that stores nothing gets
 * both back. The first copy in a window always fits, so a document of any size can be named.
 *
 * Memory: one small entry per user who wrote in the last hour (swept-map.ts).
 */
import { HttpError } from '../../shared/http-error.ts'
import { SweptMap } from './swept-map.ts'

export const VERSION_WINDOW_MS = 3_600_000

interface Window {
  start: number
  used: number
  bytes: number
}

/** One write's account: the count is spent; `copy` charges the bytes it stores. */
export interface WriteBill {
  /** Charges a copy of `bytes` bytes, or throws 429 (nothing charged) when the window cannot take it. */
  copy(bytes: number): void
  /** The write stored nothing (refused by a quota, the room, or the log): all of it goes back. */
  refund(): void
}

export interface WriteLimits {
  perHour: number
  bytesPerHour: number
}

export class VersionWriteBudget {
  private readonly limits: WriteLimits
  private readonly now: () => number
  /** Windows that ended are forgotten. */
  private readonly windows = new SweptMap<Window>((window, now) => now - window.start >= VERSION_WINDOW_MS)

  constructor(limits: WriteLimits, now: () => number = Date.now) {
    this.limits = limits
    this.now = now
  }

  /** Spends one write of `userId`'s budget, or throws 429 (nothing spent). */
  spend(userId: string): WriteBill {
    const window = this.window(userId)
    if (window.used >= this.limits.perHour) throw this.spent(window, `you named or restored ${this.limits.perHour} versions in the last hour, the most allowed`)
    window.used++
    let copied: { window: Window; bytes: number } | null = null
    return {
      copy: (bytes) => {
        // The window may have ended meanwhile: the fresh one is charged then.
        const current = this.window(userId)
        if (current.bytes > 0 && current.bytes + bytes > this.limits.bytesPerHour) {
          throw this.spent(current, `your versions stored ${current.bytes} bytes of copies in the last hour; this one (${bytes} bytes) would pass the most allowed (${this.limits.bytesPerHour})`)
        }
        current.bytes += bytes
        copied = { window: current, bytes: (copied?.bytes ?? 0) + bytes }
      },
      refund: () => {
        // A window that ended owes nothing.
        if (this.windows.get(userId) === window && window.used > 0) window.used--
        if (copied && this.windows.get(userId) === copied.window) copied.window.bytes = Math.max(0, copied.window.bytes - copied.bytes)
      },
    }
  }

  private window(userId: string): Window {
    const now = this.now()
    let window = this.windows.get(userId)
    if (!window || now - window.start >= VERSION_WINDOW_MS) {
      window = { start: now, used: 0, bytes: 0 }
      this.windows.set(userId, window, now)
    }
    return window
  }

  private spent(window: Window, what: string): HttpError {
    const retryAfter = Math.ceil((window.start + VERSION_WINDOW_MS - this.now()) / 1000)
    return new HttpError(429, 'rate_limited', `${what}; retry in ${retryAfter} s`, retryAfter)
  }
}
