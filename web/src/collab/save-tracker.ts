/**
 * Whether this page's edits to one document are saved, from the y-websocket protocol alone: a
 * stock WebsocketProvider syncs the document, and this listens beside it to the same frames.
 *
 * Every update the doc emits that did not come from the provider is this page's (an edit, an
 * undo, or what IndexedDB kept from earlier visits) and waits in PendingChanges until the server
 * is known to hold it: its echo or any other update it sends, its state vector (its sync step 1
 * on connecting, or when it asks for a resync after its log was down) and the deletions its sync
 * answer carries. Frames are read from the provider's current socket only (`provider.ws`, as the
 * provider itself does), never from other tabs over BroadcastChannel: only the server's word
 * counts. A y-protocols permission-denied while edits wait means one of them was not accepted.
 *
 * Edits that wait `stallMs` over a live socket with nothing acknowledged meanwhile count as not
 * yet saved rather than saving (a server whose log is down keeps the socket open and asks for
 * them again once it is back).
 */
import type * as Y from 'yjs'
import type { WebsocketProvider } from 'y-websocket'
import { PendingChanges, readServerMessage, saveStateOf, type SaveState } from './pending-changes.ts'

export const STALL_MS = 4_000

export interface SaveTrackerOptions {
  stallMs?: number
}

export class SaveTracker {
  readonly pending = new PendingChanges()
  /** Why the server refused an edit that still waits; null when none was refused. */
  declinedReason: string | null = null
  private readonly provider: WebsocketProvider
  private readonly stallMs: number
  private readonly listeners = new Set<() => void>()
  private readonly cleanups: Array<() => void> = []
  /** The sockets listened to, with how to stop listening (until each closes). */
  private readonly sockets = new Map<WebSocket, () => void>()
  /**
   * Runs while edits wait over a live socket; restarted when edits start waiting, the socket
   * (re)connects, or the server acknowledges something. When it fires, they are stalled.
   */
  private stallTimer: ReturnType<typeof setTimeout> | undefined
  private stalled = false
  private lastState: SaveState = 'saved'

  constructor(doc: Y.Doc, provider: WebsocketProvider, options: SaveTrackerOptions = {}) {
    this.provider = provider
    this.stallMs = options.stallMs ?? STALL_MS
    const onUpdate = (update: Uint8Array, origin: unknown): void => this.onLocalUpdate(update, origin)
    doc.on('update', onUpdate)
    this.cleanups.push(() => doc.off('update', onUpdate))
    const onStatus = ({ status }: { status: string }): void => this.onStatus(status)
    provider.on('status', onStatus)
    this.cleanups.push(() => provider.off('status', onStatus))
    if (provider.ws) this.listenTo(provider.ws) // a socket opened before this tracker
  }

  get state(): SaveState {
    return saveStateOf({
      pending: !this.pending.isEmpty,
      declined: this.declinedReason !== null,
      connected: this.provider.wsconnected,
      stalled: this.stalled,
    })
  }

  /** Called whenever the state may have changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  destroy(): void {
    clearTimeout(this.stallTimer)
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    for (const stop of [...this.sockets.values()]) stop()
    this.listeners.clear()
  }

  private onLocalUpdate(update: Uint8Array, origin: unknown): void {
    if (origin === this.provider) return // from the server (or from another tab: not ours to track)
    if (this.pending.isEmpty) this.progressed()
    this.pending.add(update)
    this.changed()
  }

  private onStatus(status: string): void {
    // y-websocket emits 'connecting' right after it opens a socket and sets `provider.ws`.
    if (status === 'connecting' && this.provider.ws) this.listenTo(this.provider.ws)
    if (status === 'connected') this.progressed() // waiting edits are sent now
    this.changed()
  }

  private listenTo(socket: WebSocket): void {
    if (this.sockets.has(socket)) return
    // Added after the provider's own handler, so each frame is read once the provider applied it.
    const onMessage = (event: MessageEvent): void => {
      if (this.provider.ws !== socket || !(event.data instanceof ArrayBuffer)) return
      this.onServerFrame(new Uint8Array(event.data))
    }
    const stop = (): void => {
      socket.removeEventListener('message', onMessage)
      socket.removeEventListener('close', stop)
      this.sockets.delete(socket)
    }
    socket.addEventListener('message', onMessage)
    socket.addEventListener('close', stop)
    this.sockets.set(socket, stop)
  }

  private onServerFrame(frame: Uint8Array): void {
    if (this.pending.isEmpty) return
    const message = readServerMessage(frame)
    if (message.kind === 'other') return
    if (message.kind === 'permission-denied') {
      this.declinedReason = message.reason
    } else if (message.kind === 'state-vector') {
      // Progress even when it clears nothing: the server asks for what it lacks (on connecting,
      // or to resync once its log is back), and the provider is sending it now.
      this.pending.acknowledgeStateVector(message.stateVector)
      this.progressed()
    } else if (this.pending.acknowledgeUpdate(message.update)) {
      this.progressed()
    }
    if (this.pending.isEmpty) this.declinedReason = null
    this.changed()
  }

  private progressed(): void {
    clearTimeout(this.stallTimer)
    this.stallTimer = undefined
    this.stalled = false
  }

  private changed(): void {
    if (this.pending.isEmpty) this.progressed()
    const state = this.state
    if (state === 'saving' && this.stallTimer === undefined) {
      this.stallTimer = setTimeout(() => {
        this.stalled = true
        this.changed()
      }, this.stallMs)
    }
    if (state === this.lastState) return
    this.lastState = state
    for (const listener of this.listeners) listener()
  }
}
