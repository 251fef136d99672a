/**
 * One collaborative document of a group: a Y.Doc kept in IndexedDB (so edits made offline
 * survive a reload and merge when the socket returns) and synced by a stock WebsocketProvider.
 *
 * The access token travels in the URL (`?token=`); when the session gets a new one, the
 * provider's params are updated so the next reconnect uses it. Close codes 44xx are final for
 * the provider: 4401 gets one token refresh and a reconnect, 4403/4404 mean no access.
 */
import * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'
import { CloseCode } from '../../../shared/close-codes.ts'
import type { Session } from '../session.ts'
import { SaveTracker } from './save-tracker.ts'

export type AccessProblem = 'signed-out' | 'forbidden' | 'not-found' | 'refused' | 'document-full' | 'rate-limited'

/** Terminal close codes (4400-4499: y-websocket stops reconnecting) and what they mean here. */
const REFUSALS: Partial<Record<number, AccessProblem>> = {
  [CloseCode.forbidden]: 'forbidden',
  [CloseCode.notFound]: 'not-found',
  [CloseCode.updateRefused]: 'refused',
  [CloseCode.documentTooLarge]: 'document-full',
  [CloseCode.rateLimited]: 'rate-limited',
}

export class RoomConnection {
  readonly doc = new Y.Doc()
  readonly provider: WebsocketProvider
  readonly persistence: IndexeddbPersistence
  /** Whether this page's edits are saved: acknowledged by the server (save-tracker.ts). */
  readonly saves: SaveTracker
  /** Set when the server refused us for good; the provider stays disconnected. */
  problem: AccessProblem | null = null
  private readonly session: Session
  private readonly listeners = new Set<() => void>()
  private readonly cleanups: Array<() => void> = []
  private refreshedAfter401 = false
  private awaitingToken = false
  /** The token the current (or last) socket was opened with: the one a 4401 refers to. */
  private openedWith = ''

  constructor(room: string, session: Session) {
    this.session = session
    const user = session.user?.id ?? 'anonymous'
    this.persistence = new IndexeddbPersistence(`collab:${user}:${room}`, this.doc)
    this.provider = new WebsocketProvider(`${wsOrigin()}/collab`, room, this.doc, {
      params: { token: session.accessToken ?? '' },
      connect: navigator.onLine,
    })
    this.saves = new SaveTracker(this.doc, this.provider)
    this.provider.on('closed', (event) => void this.onRefused(event.code))
    this.provider.on('status', ({ status }) => this.onStatus(status))
    this.provider.on('sync', (synced: boolean) => this.onSync(synced))
    this.cleanups.push(session.onChange(() => this.onSession()))
    // The browser knows it is offline: drop the socket now instead of waiting for y-websocket's
    // 30 s silence check, keep editing locally, and reconnect the moment it is back.
    this.listenWindow('offline', () => this.provider.disconnect())
    this.listenWindow('online', () => this.reconnect())
  }

  get connected(): boolean {
    return this.provider.wsconnected && this.provider.synced
  }

  /** Called on any change of connection state. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  reconnect(): void {
    if (this.problem === null && navigator.onLine) this.provider.connect()
  }

  destroy(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    this.listeners.clear()
    this.saves.destroy()
    this.provider.destroy()
    void this.persistence.destroy()
    this.doc.destroy()
  }

  private async onRefused(code: number): Promise<void> {
    if (code === CloseCode.unauthorized) return this.onUnauthorized()
    this.problem = REFUSALS[code] ?? 'forbidden'
    this.changed()
  }

  /**
   * A bad or expired token. If the session already has a newer token than the one this socket
   * was opened with (the canvas and chat sockets are refused together after being offline, and
   * the other one's refresh may be done already), reconnect with it: refresh tokens are single
   * use, so a second refresh would rotate the pair again and leave the sockets on different
   * tokens. Otherwise refresh (shared with any refresh in flight) and reconnect; a second 4401
   * in a row for a fresh token is final.
   */
  private async onUnauthorized(): Promise<void> {
    const rejected = this.openedWith
    const renewed = this.session.accessToken !== null && this.session.accessToken !== rejected
    if (!renewed) {
      if (this.refreshedAfter401) return this.signedOut()
      this.refreshedAfter401 = true
    }
    const result = await this.session.refresh(rejected)
    if (result === 'invalid') return this.signedOut()
    if (result === 'offline') {
      // The session retries by itself; its next token reconnects us (see onSession).
      this.refreshedAfter401 = false
      this.awaitingToken = true
      return
    }
    this.useToken()
    this.reconnect()
  }

  private signedOut(): void {
    this.problem = 'signed-out'
    this.changed()
    this.session.signOut()
  }

  private onStatus(status: 'connected' | 'disconnected' | 'connecting'): void {
    // y-websocket emits 'connecting' right after opening a socket on `provider.url`.
    if (status === 'connecting') this.openedWith = this.provider.params.token ?? ''
    this.changed()
  }

  private onSync(synced: boolean): void {
    if (synced) this.refreshedAfter401 = false
    this.changed()
  }

  private onSession(): void {
    this.useToken()
    if (this.awaitingToken && this.session.accessToken) {
      this.awaitingToken = false
      this.reconnect()
    }
  }

  private useToken(): void {
    const token = this.session.accessToken
    if (token) this.provider.params.token = token
  }

  private listenWindow(type: 'online' | 'offline', listener: () => void): void {
    const handler = (): void => {
      listener()
      this.changed()
    }
    window.addEventListener(type, handler)
    this.cleanups.push(() => window.removeEventListener(type, handler))
  }

  private changed(): void {
    for (const listener of this.listeners) listener()
  }
}

function wsOrigin(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`
}
