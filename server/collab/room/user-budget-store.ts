/**
 * Every user's budgets in every room of this node, kept apart from the rooms: a room leaves memory
 * ROOM_GRACE_MS after its last socket, and budgets that went with it would come back full, so a
 * member who left and came back (or waited out the grace) would spend them again. An entry goes
 * once all its budgets are full again: forgetting it then changes nothing (swept-map.ts sweeps as
 * entries are added, so the store holds about the users who spent something recently).
 */
import { SweptMap } from '../../history/swept-map.ts'
import type { Budget } from '../wire/budget.ts'

export type BudgetSet<K extends string> = Record<K, Budget>

export class UserBudgetStore<K extends string = string> {
  private readonly entries = new SweptMap<BudgetSet<K>>((budgets, now) => Object.values<Budget>(budgets).every((budget) => budget.isFull(now)))

  /** The user's budgets in `room`, made by `make` the first time (or after they were all full again). */
  of(room: string, userId: string, make: () => BudgetSet<K>): BudgetSet<K> {
    const key = `${room}\n${userId}`
    let budgets = this.entries.get(key)
    if (!budgets) {
      budgets = make()
      this.entries.set(key, budgets, performance.now())
    }
    return budgets
  }

  get size(): number {
    return this.entries.size
  }
}
