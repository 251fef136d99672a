/**
 * What one user may spend in one room across all her sockets, beside each socket's own budgets.
 * Socket budgets alone let a member open a fresh socket (with a full budget) for every burst;
 * the user's budgets run dry however many sockets she opens, and only her sockets are refused.
 */
import { Budget, type BudgetRate } from '../wire/budget.ts'
import type { Connection } from '../wire/connection.ts'
import { UserBudgetStore } from './user-budget-store.ts'

export interface UserRates {
  /** Update bytes written (no socket budget: writes are the user's). */
  write: BudgetRate
  /**
   * Updates written, however small: each costs a check, a log record and a delivery to every
   * socket in the room, so a flood of one-point updates within the byte budget (150,000 in under
   * 2 s) held up every room on the node.
   */
  updates: BudgetRate
  presenceMessages: BudgetRate
  presenceBytes: BudgetRate
  /** Bytes of sync and presence answers, diffed or merged and sent. */
  sync: BudgetRate
  /**
   * Client ids the user's updates introduce: each costs the room an index entry, a binding and a
   * state-vector entry sent to everyone who joins, for good. A stock client uses one per session.
   */
  newClientIds: BudgetRate
  /**
   * Chat messages posted: each is a change-feed event and a delivery to every webhook of the
   * group, in order, so one member's flood would hold everyone's notifications back.
   */
  posts: BudgetRate
}

/** A user's sockets together may spend what this many sockets may: a few open tabs. */
export const SOCKETS_PER_USER = 3

/**
 * A write may post more than the post budget holds only when the budget is full (a member back
 * from a long offline session resends everything at once: refused, she could never post again),
 * and at most this many times its capacity; she then pays it back before posting again.
 */
export const MAX_POSTS_WHEN_FULL = 5

/** A first sync this small is answered even while the user is in debt (a reconnect after a flap). */
export const SMALL_FIRST_SYNC_BYTES = 64 * 1024
/** A first sync is answered while the user's debt is at most this many answers of the size asked (a few reloads of a big document). */
export const FIRST_SYNCS_IN_DEBT = 2

export type SocketRates = Pick<UserRates, 'presenceMessages' | 'presenceBytes' | 'sync'>

/** The per-user rates for per-socket ones. */
export function userRates(socket: SocketRates, own: Pick<UserRates, 'write' | 'updates' | 'newClientIds' | 'posts'>): UserRates {
  const times = (rate: BudgetRate): BudgetRate => ({ capacity: rate.capacity * SOCKETS_PER_USER, perSecond: rate.perSecond * SOCKETS_PER_USER })
  return { ...own, presenceMessages: times(socket.presenceMessages), presenceBytes: times(socket.presenceBytes), sync: times(socket.sync) }
}

type UserBudgets = Record<keyof UserRates, Budget>

export class RoomBudgets {
  private readonly rates: UserRates
  private readonly store: UserBudgetStore<keyof UserRates>
  private readonly room: string

  /** `store`: the node's, shared by every room (so budgets outlive a room's stay in memory). */
  constructor(rates: UserRates, store = new UserBudgetStore<keyof UserRates>(), room = '') {
    this.rates = rates
    this.store = store
    this.room = room
  }

  /** Takes one update of `bytes` from the user's write budgets; false (nothing taken) when either cannot pay. */
  spendWrite(userId: string, bytes: number): boolean {
    const user = this.of(userId)
    if (!user.updates.spend(1)) return false
    if (user.write.spend(bytes)) return true
    user.updates.refund(1)
    return false
  }

  /** Takes `count` new client ids of the user's budget; false (nothing taken) when it cannot pay. */
  spendClientIds(userId: string, count: number): boolean {
    return this.of(userId).newClientIds.spend(count)
  }

  /**
   * Takes `count` posts (messages posted or deleted: each is a feed event and a webhook delivery)
   * of the user's budget; false (nothing taken) when it cannot pay. A full budget pays for up to
   * MAX_POSTS_WHEN_FULL times its capacity at once, going into debt.
   */
  spendPosts(userId: string, count: number): boolean {
    const posts = this.of(userId).posts
    if (posts.spend(count)) return true
    if (count > this.rates.posts.capacity * MAX_POSTS_WHEN_FULL || !posts.isFull()) return false
    posts.charge(count)
    return true
  }

  /** Gives back posts spent on a write that was not taken after all. */
  refundPosts(userId: string, count: number): void {
    this.of(userId).posts.refund(count)
  }

  /** One presence change of `bytes`: the socket and its user pay; false once either is in debt. */
  payPresence(conn: Connection, bytes: number): boolean {
    const user = this.of(conn.principal.userId)
    const socketPays = conn.presenceMessages.charge(1) && conn.presenceBytes.charge(bytes)
    return user.presenceMessages.charge(1) && user.presenceBytes.charge(bytes) && socketPays
  }

  /**
   * An answer of `cost` bytes, paid before it is computed. A socket's first sync is free of the
   * socket's budget, and is answered while the user's debt is at most FIRST_SYNCS_IN_DEBT answers
   * of that size: a document bigger than the budget still loads, and loads again when its person
   * reloads or opens another tab a few times in a row (then as the budget refills); a client
   * that has it and reconnects after a network flap (asking for little or nothing) is always
   * answered. Every later answer must be paid by both.
   */
  paySync(conn: Connection, cost: number, first: boolean): boolean {
    const user = this.of(conn.principal.userId).sync
    if (first) {
      if (cost > SMALL_FIRST_SYNC_BYTES && user.debt() > FIRST_SYNCS_IN_DEBT * cost) return false
      user.charge(cost)
      return true
    }
    const socketPays = conn.syncBudget.charge(cost)
    return user.charge(cost) && socketPays
  }

  /**
   * The room's presence sent to a socket that joins: paid by the user when her budget can, else
   * not sent (false). Never a debt: a member must not be refused her document because others
   * hold presence in the room, and opening fresh sockets must not make the node send the room's
   * presence again and again. Without it she sees the others as they next change or renew
   * their state (stock clients renew every 15 s).
   */
  payJoin(conn: Connection, bytes: number): boolean {
    return this.of(conn.principal.userId).sync.spend(bytes)
  }

  private of(userId: string): UserBudgets {
    return this.store.of(this.room, userId, () => {
      const { write, updates, presenceMessages, presenceBytes, sync, newClientIds, posts } = this.rates
      return {
        write: new Budget(write),
        updates: new Budget(updates),
        presenceMessages: new Budget(presenceMessages),
        presenceBytes: new Budget(presenceBytes),
        sync: new Budget(sync),
        newClientIds: new Budget(newClientIds),
        posts: new Budget(posts),
      }
    })
  }
}
