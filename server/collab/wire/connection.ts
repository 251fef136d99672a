/**
 * One client socket in one room: its principal, the awareness client ids it introduced, its
 * budgets, the updates it sent that wait for content nobody has yet, and a send path that drops
 * the socket instead of buffering without bound.
 */
import { CloseCode } from '../../../shared/close-codes.ts'
import { Budget, type BudgetRate } from './budget.ts'
import type { CollabObserver } from '../observer.ts'
import { canWrite, type Principal, type Role } from '../principal.ts'
import type { Transport } from './transport.ts'
import type { HeldUpdate } from '../intake/held-updates.ts'

export interface ConnectionLimits {
  maxBufferedBytes: number
  /** Awareness client ids one socket may introduce (a Yjs client normally uses one). */
  maxAwarenessIds: number
  /** Presence changes that take effect: messages and bytes. */
  presenceMessages: BudgetRate
  presenceBytes: BudgetRate
  /** Bytes of sync answers (work and reply) after the socket's first sync. */
  syncBytes: BudgetRate
}

const MAX_REASON_BYTES = 120
let nextConnectionId = 1

export class Connection {
  readonly id = nextConnectionId++
  readonly awarenessIds = new Set<number>()
  /** An update from this socket could not be logged; ask it to resend when the log is back. */
  needsResync = false
  /**
   * An update from this socket was declined after the log lost entries (it built on, or erased,
   * content that went with them): ask it to resend once more content has arrived.
   */
  resyncOnContent = false
  lastSentAt = Date.now()
  /** Sync step 1 messages answered so far (the first is free of the sync budget). */
  syncs = 0
  /**
   * Its first sync step 1 was answered: updates entering the room from then on are relayed to
   * it (those before are in the answer), so it receives each exactly once.
   */
  synced = false
  /** Updates that need content the room does not have yet, in arrival order. */
  held: HeldUpdate[] = []
  heldBytes = 0
  readonly presenceMessages: Budget
  readonly presenceBytes: Budget
  readonly syncBudget: Budget
  private closed = false
  private readonly transport: Transport
  readonly principal: Principal
  readonly limits: ConnectionLimits
  private readonly observer: CollabObserver

  constructor(transport: Transport, principal: Principal, limits: ConnectionLimits, observer: CollabObserver) {
    this.transport = transport
    this.principal = principal
    this.limits = limits
    this.observer = observer
    this.presenceMessages = new Budget(limits.presenceMessages)
    this.presenceBytes = new Budget(limits.presenceBytes)
    this.syncBudget = new Budget(limits.syncBytes)
  }

  get role(): Role {
    return this.principal.role
  }

  get canWrite(): boolean {
    return canWrite(this.principal.role)
  }

  get isClosed(): boolean {
    return this.closed
  }

  setRole(role: Role): void {
    this.principal.role = role
  }

  send(frame: Uint8Array): void {
    if (this.closed) return
    if (this.transport.bufferedAmount > this.limits.maxBufferedBytes) {
      this.observer.slowConsumerDropped()
      this.close(CloseCode.tryAgainLater, 'slow consumer')
      return
    }
    this.lastSentAt = Date.now()
    this.transport.send(frame)
  }

  /** Frames that belong together (a sync): checked once for backpressure, then all sent. */
  sendAll(frames: Uint8Array[]): void {
    const [first, ...rest] = frames
    if (first === undefined) return
    this.send(first)
    if (this.closed) return
    for (const frame of rest) this.transport.send(frame)
  }

  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.transport.close(code, truncate(reason))
  }

  /** The transport went away on its own. */
  markClosed(): void {
    this.closed = true
  }
}

function truncate(reason: string): string {
  const bytes = new TextEncoder().encode(reason)
  return bytes.length <= MAX_REASON_BYTES ? reason : new TextDecoder().decode(bytes.subarray(0, MAX_REASON_BYTES))
}
