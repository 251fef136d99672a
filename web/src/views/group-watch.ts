/**
 * Keeps an open group page honest about access and tells it what others did: it asks the server
 * (`GET /groups/:id/activity`) every few seconds while the page is visible and online, soon after
 * a remote edit (a restore or rollback arrives as one), and at once when the server refuses an
 * edit. The answer carries this user's role (a change turns the page read-only or writable) and
 * the restores and rollbacks since the last answer; a 403 means removed, a 404 deleted.
 */
import type { ActivityResponse, GroupResponse, VersionResponse } from '../../../shared/api.ts'
import { ApiError, type Api } from '../api.ts'

export type LostAccess = 'removed' | 'deleted' | 'viewer'
export type Role = GroupResponse['role']

export interface GroupWatchHandlers {
  onRole(role: Role): void
  onLost(lost: Exclude<LostAccess, 'viewer'>): void
  onNotices(notices: VersionResponse[]): void
}

const POLL_MS = 4_000
const SOON_MS = 700

export class GroupWatch {
  role: Role
  private after = Date.now()
  private readonly seen = new Set<string>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private asking = false
  private again = false
  private stopped = false
  private gone = false
  private readonly api: Api
  private readonly groupId: string
  private readonly handlers: GroupWatchHandlers

  constructor(api: Api, group: GroupResponse, handlers: GroupWatchHandlers) {
    this.api = api
    this.groupId = group.id
    this.role = group.role
    this.handlers = handlers
    this.wait(POLL_MS)
    document.addEventListener('visibilitychange', this.onVisible)
    window.addEventListener('online', this.onVisible)
  }

  /** Ask now. */
  check(): void {
    if (this.stopped || this.gone) return
    if (this.asking) {
      this.again = true
      return
    }
    clearTimeout(this.timer)
    this.asking = true
    this.api.get<ActivityResponse>(`/groups/${encodeURIComponent(this.groupId)}/activity?after=${Math.max(0, this.after)}`).then(
      (answer) => this.take(answer),
      (reason: unknown) => {
        if (reason instanceof ApiError && reason.status === 403) this.lost('removed')
        else if (reason instanceof ApiError && reason.status === 404) this.lost('deleted')
      }).finally(() => {
      this.asking = false
      if (this.again) {
        this.again = false
        return this.check()
      }
      this.wait(POLL_MS)
    })
  }

  /** Ask shortly (something arrived that may be someone's restore or rollback). */
  soon(): void {
    if (this.asking) {
      this.again = true
      return
    }
    this.wait(SOON_MS)
  }

  /** Access is gone for good (a socket was closed with 4403/4404, or the server said so). */
  lost(kind: Exclude<LostAccess, 'viewer'>): void {
    if (this.gone || this.stopped) return
    this.gone = true
    clearTimeout(this.timer)
    this.handlers.onLost(kind)
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    document.removeEventListener('visibilitychange', this.onVisible)
    window.removeEventListener('online', this.onVisible)
  }

  private take(answer: ActivityResponse): void {
    if (this.stopped || this.gone) return
    // A little overlap guards against a notice stored between the server's clock reading and its list.
    this.after = answer.now - POLL_MS
    const fresh = answer.notices.filter((n) => !this.seen.has(n.id))
    for (const notice of fresh) this.seen.add(notice.id)
    if (fresh.length > 0) this.handlers.onNotices(fresh)
    if (answer.role !== this.role) {
      this.role = answer.role
      this.handlers.onRole(answer.role)
    }
  }

  private wait(ms: number): void {
    if (this.stopped || this.gone) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      if (document.visibilityState === 'visible' && navigator.onLine) this.check()
      else this.wait(POLL_MS)
    }, ms)
  }

  private readonly onVisible = (): void => { if (document.visibilityState === 'visible') this.soon() }
}
