/**
 * The rooms hot on this node. Concurrent joins of one room share one load; a room with no
 * holders is evicted after the grace period (always: a failed final save leaves the data in the
 * log). A join while the room drains its writes and runs its final compaction takes it back at
 * once (it is whole until it closes: a slow store must not keep members out for the final
 * compaction's bound); a join while it closes waits for that and then loads afresh. A room whose
 * group was deleted is refused from then on, so a socket admitted meanwhile cannot bring it back.
 */
import { parseRoomName } from '../../../shared/rooms.ts'
import type { AwarenessRelay } from '../../cluster/awareness-relay.ts'
import type { Logger } from '../../logger.ts'
import type { Compactor } from '../compaction/compactor.ts'
import type { CollabObserver } from '../observer.ts'
import { loadRoom, type LoaderDeps } from './room-loader.ts'
import { Room, type RoomDeps } from './room.ts'

export class RoomGoneError extends Error {
  override name = 'RoomGoneError'
}

export interface RegistryDeps {
  loader: LoaderDeps
  room: Omit<RoomDeps, 'onApplied' | 'kind'>
  compactor: Compactor
  relay: AwarenessRelay
  logger: Logger
  graceMs: number
  /** Longest a final compaction may delay an eviction. */
  finalCompactionMs: number
  observer: CollabObserver
}

export class RoomRegistry {
  private readonly rooms = new Map<string, Room>()
  private readonly loading = new Map<string, Promise<Room>>()
  private readonly closing = new Map<string, Promise<void>>()
  /** Rooms being evicted (their writes drain and their final compaction runs). */
  private readonly closingRooms = new Set<Room>()
  /** Rooms being evicted that a join may still take back (they have not started closing). */
  private readonly revivable = new Map<string, Room>()
  /** How many times each room leaving memory was evicted (a room taken back may be evicted again before its close ends). */
  private readonly evictions = new Map<Room, number>()
  /** Shutting down: rooms leaving memory are not taken back. */
  private stopping = false
  /** How many times the log lost its entries (a room loading across a loss relogs once loaded). */
  private losses = 0
  private readonly relays = new Map<Room, () => void>()
  /** Rooms of deleted groups (never loaded again by this process). */
  private readonly deleted = new Set<string>()

  private readonly deps: RegistryDeps

  constructor(deps: RegistryDeps) {

    this.deps = deps
  }

  /** The room, loaded if needed, held until `release`. Rejects if it cannot be loaded. */
  async acquire(name: string): Promise<Room> {
    for (;;) {
      if (this.deleted.has(name)) throw new RoomGoneError(`room ${name} was deleted`)
      const room = this.rooms.get(name) ?? this.takeBack(name)
      if (room) {
        this.hold(room)
        return room
      }
      const closing = this.closing.get(name)
      if (closing) {
        await closing
        continue
      }
      await this.startLoad(name)
    }
  }

  release(room: Room): void {
    room.holders--
    if (room.holders === 0) this.scheduleEviction(room)
  }

  /** A hot room, without holding it. */
  get(name: string): Room | undefined {
    return this.rooms.get(name)
  }

  isHot(name: string): boolean {
    return this.rooms.has(name) || this.loading.has(name)
  }

  get size(): number {
    return this.rooms.size
  }

  all(): IterableIterator<Room> {
    return this.rooms.values()
  }

  /**
   * Drops a room whose group was deleted: closes its sockets and evicts it at once, without a
   * final snapshot. Resolves when it has left memory.
   */
  async discard(name: string, code: number, reason: string): Promise<void> {
    this.deleted.add(name)
    await this.loading.get(name)?.catch(() => undefined)
    const room = this.rooms.get(name)
    if (room) {
      room.discarded = true
      room.closeAll(code, reason)
      await this.evict(room, true)
    }
    await this.closing.get(name)
  }

  /**
   * Shutdown: evict every room now (callers closed the sockets first), one at a time, so the
   * final compactions do not all hold their documents in memory at once.
   */
  async evictAll(): Promise<void> {
    this.stopping = true
    await Promise.allSettled([...this.loading.values()])
    for (const room of [...this.rooms.values()]) await this.evict(room, true)
    await Promise.all([...this.closing.values()])
  }

  private startLoad(name: string): Promise<Room> {
    let loading = this.loading.get(name)
    if (!loading) {
      loading = this.load(name).finally(() => this.loading.delete(name))
      this.loading.set(name, loading)
    }
    return loading
  }

  /**
   * The log lost its entries (a Redis restarted empty): every hot room, and every room closing,
   * writes again what it holds beyond its snapshot; a room loading meanwhile does once it is
   * loaded (it may have read entries that are gone now).
   */
  logLost(): void {
    this.losses++
    // Closing rooms too: their final compaction must fold what the log no longer has.
    for (const room of [...this.rooms.values(), ...this.closingRooms]) void room.relog()
  }

  private async load(name: string): Promise<Room> {
    const started = performance.now()
    const kind = parseRoomName(name)?.kind
    if (!kind) throw new RoomGoneError(`not a room: ${name}`)
    const losses = this.losses
    const loaded = await loadRoom(name, this.deps.loader)
    if (this.deleted.has(name)) throw new RoomGoneError(`room ${name} was deleted`)
    const room = new Room(name, loaded, { ...this.deps.room, kind, onApplied: (r) => this.deps.compactor.noteApplied(r) })
    room.start()
    this.relays.set(room, this.deps.relay.join(name, {
      apply: (node, entries) => room.awareness.fromRemote(node, entries),
      learn: (claims) => room.awareness.learn(claims),
      remove: (ids) => room.awareness.dropRemote(ids),
      answer: () => room.awareness.answerForNode(),
      heard: () => room.presenceHeard(),
    }))
    this.rooms.set(name, room)
    if (this.losses !== losses) void room.relog()
    this.scheduleEviction(room) // until someone holds it
    if (loaded.entries.length > 0) this.deps.compactor.noteApplied(room)
    this.deps.observer.roomLoaded(performance.now() - started)
    return room
  }

  private hold(room: Room): void {
    room.holders++
    clearTimeout(room.evictTimer)
    room.evictTimer = undefined
  }

  private scheduleEviction(room: Room): void {
    clearTimeout(room.evictTimer)
    room.evictTimer = setTimeout(() => void this.evict(room, false), this.deps.graceMs)
    room.evictTimer.unref()
  }

  private async evict(room: Room, force: boolean): Promise<void> {
    if ((!force && room.holders > 0) || this.rooms.get(room.name) !== room) return
    if (!force && room.holdsUnlogged) return this.scheduleEviction(room) // the log lost what only it holds now
    this.rooms.delete(room.name)
    this.closingRooms.add(room)
    this.revivable.set(room.name, room)
    this.evictions.set(room, (this.evictions.get(room) ?? 0) + 1)
    // Taken back and evicted again before its first close ended: that close goes on for both.
    const running = this.closing.get(room.name)
    if (running) return running
    const closing = this.close(room).finally(() => this.closing.delete(room.name))
    this.closing.set(room.name, closing)
    await closing
  }

  /** A room leaving memory, back to being hot (null when none may be taken back). */
  private takeBack(name: string): Room | null {
    const room = this.revivable.get(name)
    if (!room || this.stopping || room.discarded) return null
    this.revivable.delete(name)
    this.closingRooms.delete(room)
    this.rooms.set(name, room)
    this.deps.logger.debug({ room: name }, 'a join took back a room leaving memory')
    return room
  }

  /**
   * Drains the room's writes and runs its final compaction, again if it was taken back and
   * evicted anew meanwhile; then, unless it was taken back, closes it for good.
   */
  private async close(room: Room): Promise<void> {
    let round = -1
    while (this.closingRooms.has(room) && round !== this.evictions.get(room)) {
      round = this.evictions.get(room)!
      clearTimeout(room.evictTimer)
      await room.drain()
      if (!room.discarded) await this.finalCompaction(room)
    }
    if (!this.closingRooms.has(room)) return // taken back: hot again
    if (room.holdsUnlogged && !this.stopping && !room.discarded) return this.keepOwing(room)
    this.revivable.delete(room.name)
    this.evictions.delete(room)
    try {
      this.deps.compactor.forget(room)
      this.relays.get(room)?.()
      this.relays.delete(room)
      await room.close()
    } finally {
      this.closingRooms.delete(room)
      this.deps.observer.roomEvicted()
    }
  }

  /**
   * A room leaving memory still owes the log what only it holds (an append failed as it drained,
   * and what it wrote is written again after a pause, or once the log is back): it stays hot,
   * and is evicted again once nobody holds it and it owes nothing.
   */
  private keepOwing(room: Room): void {
    this.revivable.delete(room.name)
    this.closingRooms.delete(room)
    this.evictions.delete(room)
    this.rooms.set(room.name, room)
    this.scheduleEviction(room)
  }

  private async finalCompaction(room: Room): Promise<void> {
    try {
      await withTimeout(this.deps.compactor.compactHot(room), this.deps.finalCompactionMs)
    } catch (error) {
      this.deps.logger.warn({ err: error, room: room.name }, 'final compaction failed; the log keeps the data')
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
