/**
 * The signed-in user and their tokens, kept in localStorage so a reload stays signed in.
 *
 * The access token is refreshed shortly before it expires. Refresh tokens are single use, so
 * tabs must not race each other: a refresh runs under a Web Lock (where the browser has them)
 * and first checks whether another tab already stored a newer pair, and every tab adopts pairs
 * other tabs store (the `storage` event).
 */
import type { SessionResponse } from '../../shared/api.ts'

export interface StoredSession {
  user: SessionResponse['user']
  accessToken: string
  refreshToken: string
  /** When the access token expires (ms since the epoch, by this browser's clock). */
  accessExpiresAt: number
}

/** ok: fresh tokens; invalid: the session is over (sign in again); offline: try again later. */
export type RefreshResult = 'ok' | 'invalid' | 'offline'

const STORAGE_KEY = 'collab.session'
/** Refresh this long before expiry (or at 80% of a shorter lifetime). */
const REFRESH_MARGIN_MS = 60_000
const RETRY_MS = 10_000

export class Session {
  private current: StoredSession | null = load()
  private refreshing: Promise<RefreshResult> | null = null
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly listeners = new Set<() => void>()

  constructor() {
    window.addEventListener('storage', (event) => {
      if (event.key !== STORAGE_KEY) return
      this.current = load()
      this.changed()
    })
    window.addEventListener('online', () => this.schedule())
    this.schedule()
  }

  get user(): StoredSession['user'] | null {
    return this.current?.user ?? null
  }

  get accessToken(): string | null {
    return this.current?.accessToken ?? null
  }

  /** Called with every change: new tokens, sign-in, sign-out (here or in another tab). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  signIn(response: SessionResponse): void {
    this.current = fromResponse(response)
    save(this.current)
    this.changed()
  }

  signOut(): void {
    const ending = this.current
    this.current = null
    save(null)
    this.changed()
    // Revoking is best effort: the tokens are gone from this browser either way.
    if (ending) void fetch('/auth/logout', jsonPost({ refreshToken: ending.refreshToken })).catch(() => undefined)
  }

  /**
   * One refresh at a time; concurrent callers share it. Unreachable servers are retried.
   * `rejected` is the access token the server just refused: if the session already holds a newer
   * one (another socket's or the timer's refresh got there first), that one is the answer and the
   * single-use refresh token is not spent again.
   */
  refresh(rejected?: string): Promise<RefreshResult> {
    if (rejected !== undefined && this.current !== null && this.current.accessToken !== rejected) return Promise.resolve('ok')
    this.refreshing ??= this.refreshExclusively().catch((): RefreshResult => 'offline').then((result) => {
      this.refreshing = null
      if (result === 'offline') this.retryLater()
      return result
    })
    return this.refreshing
  }

  private async refreshExclusively(): Promise<RefreshResult> {
    const locks = navigator.locks as LockManager | undefined // absent outside secure contexts
    if (!locks) return this.refreshNow()
    return locks.request('collab.session.refresh', () => this.refreshNow())
  }

  private async refreshNow(): Promise<RefreshResult> {
    const used = this.current?.refreshToken
    const stored = load()
    if (!used || !stored) return 'invalid'
    if (stored.refreshToken !== used) return this.adopt(stored) // another tab refreshed first
    let response: Response
    try {
      response = await fetch('/auth/refresh', jsonPost({ refreshToken: used }))
    } catch {
      return 'offline'
    }
    if (response.status === 401) {
      this.signOut()
      return 'invalid'
    }
    if (!response.ok) return 'offline'
    this.signIn((await response.json()) as SessionResponse)
    return 'ok'
  }

  private adopt(stored: StoredSession): RefreshResult {
    this.current = stored
    this.changed()
    return 'ok'
  }

  private changed(): void {
    this.schedule()
    for (const listener of this.listeners) listener()
  }

  private schedule(): void {
    clearTimeout(this.timer)
    if (!this.current) return
    const lifetime = this.current.accessExpiresAt - Date.now()
    const delay = Math.max(0, lifetime - Math.min(REFRESH_MARGIN_MS, lifetime * 0.2))
    this.timer = setTimeout(() => void this.refresh(), delay)
  }

  private retryLater(): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.refresh(), RETRY_MS)
  }
}

function fromResponse(response: SessionResponse): StoredSession {
  return {
    user: response.user,
    accessToken: response.accessToken,
    refreshToken: response.refreshToken,
    accessExpiresAt: Date.now() + response.expiresIn * 1000,
  }
}

export function jsonPost(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

function load(): StoredSession | null {
  try {
    const parsed = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<StoredSession> | null
    if (!parsed || typeof parsed.accessToken !== 'string' || typeof parsed.refreshToken !== 'string') return null
    if (typeof parsed.accessExpiresAt !== 'number' || typeof parsed.user?.id !== 'string') return null
    return parsed as StoredSession
  } catch {
    return null
  }
}

function save(session: StoredSession | null): void {
  if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session))
  else localStorage.removeItem(STORAGE_KEY)
}
