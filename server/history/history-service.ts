/**
 * Version history of a group's documents, behind the REST routes: list, name, preview (picture,
 * messages), diff, restore (a new edit that makes the live document equal to a version, after
 * keeping the state before it as a version), and rolling back one person's changes since a time.
 * Members read; owners and editors name and restore; owners roll back. Writes go through the room
 * like every edit: logged first, 503 while the log is down, nothing half-applied.
 */
import type { ActivityResponse, DiffResponse, RollbackPlanResponse, RollbackResponse, VersionListResponse, VersionResponse } from '../../shared/api.ts'
import type { MessagePage } from '../../shared/chat.ts'
import { roomName, type RoomKind } from '../../shared/rooms.ts'
import { deletesOnly, hasDeletes } from '../collab/sync/update-info.ts'
import type { DocWorker } from '../collab/workers/doc-worker-client.ts'
import { EditRefusedError, LogUnavailableError, type Room } from '../collab/room/room.ts'
import type { RoomRegistry } from '../collab/room/room-registry.ts'
import { forbidden, notFound, payloadTooLarge, unavailable } from '../errors.ts'
import { requireRole } from '../groups/guard.ts'
import { quotaExceeded } from '../groups/quotas.ts'
import { KeyedMutex } from '../storage/keyed-mutex.ts'
import type { AccessCache } from '../groups/access-cache.ts'
import { parseLogId } from '../log/log-id.ts'
import type { EditStore, UserStore, VersionMade, VersionRecord, VersionStore } from '../storage/types.ts'
import { EDIT_RECORD_MS, NO_DELETES } from './edit-records.ts'
import type { StrokeCopy, UserEdits } from './history-ops.ts'
import type { RollbackStates } from '../collab/workers/view-ops.ts'
import type { VersionKeeper } from './version-keeper.ts'
import type { VersionWriteBudget, WriteBill } from './version-write-budget.ts'
import type { HistoryViewBudget } from './history-view-budget.ts'
import * as Y from 'yjs'

export interface HistoryDeps {
  access: AccessCache
  registry: RoomRegistry
  versions: VersionStore
  edits: EditStore
  users: UserStore
  keeper: VersionKeeper
  worker: DocWorker
  maxSvgBytes: number
  /** Named versions one document keeps (MAX_NAMED_VERSIONS_PER_DOC): each is a whole copy, kept forever. */
  maxNamedVersions: number
  /** Bytes of the copies a document's named versions store (MAX_NAMED_VERSION_BYTES_PER_DOC). */
  maxNamedVersionBytes: number
  /** Names, restores and rollbacks per user per hour, and the bytes of their copies (VERSION_WRITES_PER_HOUR, VERSION_WRITE_BYTES_PER_HOUR). */
  writeBudget: VersionWriteBudget
  /** Versions built for a user's pictures, message pages and diffs per minute (HISTORY_VIEWS_PER_MINUTE): each is work in the shared worker. */
  viewBudget: HistoryViewBudget
}

const RETRY_AFTER_SECONDS = 2
/** Versions a rollback looks in for what the user erased, newest first. */
const ROLLBACK_SOURCES = 8
/** Copies a restore or rollback lists with the version it keeps (about 100 bytes each). */
const MAX_KEPT_COPIES = 1_000

interface Located {
  record: VersionRecord
  kind: RoomKind
}

export class HistoryService {
  private readonly deps: HistoryDeps
  /** Count and write one at a time per document on this node, so parallel names cannot pass the quota together. */
  private readonly namingLock = new KeyedMutex()

  constructor(deps: HistoryDeps) {
    this.deps = deps
  }

  async list(actor: string, groupId: string, query: { doc: RoomKind; limit?: number; before?: number }): Promise<VersionListResponse> {
    await requireRole(this.deps.access, groupId, actor, 'viewer')
    const limit = query.limit ?? 20
    const found = await this.deps.versions.list(roomName(groupId, query.doc), { limit: limit + 1, ...(query.before !== undefined && { before: query.before }) })
    const page = found.slice(0, limit)
    return { versions: await this.views(page, query.doc), nextBefore: found.length > limit ? page.at(-1)!.createdAt : null }
  }

  /** A named version of the document as it is now. */
  async name(actor: string, groupId: string, doc: RoomKind, name: string): Promise<VersionResponse> {
    await requireRole(this.deps.access, groupId, actor, 'editor')
    const room = roomName(groupId, doc)
    const record = await this.spending(actor, (bill) => this.namingLock.run(room, async () => {
      const named = await this.namedVersions(room)
      return this.withRoom(room, (hot) => {
        const live = this.liveState(hot)
        requireNamedSlot(named, live.state.length, this.deps)
        bill.copy(live.state.length)
        return this.deps.keeper.keep(room, live.state, name, live.unrecorded, { by: actor, kind: 'named' })
      })
    }))
    return (await this.views([record], doc))[0]!
  }

  async svg(actor: string, groupId: string, versionId: string): Promise<string> {
    await requireRole(this.deps.access, groupId, actor, 'viewer')
    const { record } = await this.locate(groupId, versionId)
    const answer = await this.viewing(actor, (load) => this.deps.worker.version(record.id, load(record), { kind: 'svg', maxBytes: this.deps.maxSvgBytes }))
    if (!answer) throw notFound('no such version')
    if (answer.result === null) throw payloadTooLarge(`the picture is larger than ${this.deps.maxSvgBytes} bytes`)
    return answer.result
  }

  async messages(actor: string, groupId: string, versionId: string, query: { limit?: number; before?: string }): Promise<MessagePage> {
    await requireRole(this.deps.access, groupId, actor, 'viewer')
    const { record } = await this.locate(groupId, versionId)
    const answer = await this.viewing(actor, (load) => this.deps.worker.version(record.id, load(record), { kind: 'messages', ...query }))
    if (!answer) throw notFound('no such version')
    const names = await this.names(answer.result.messages.map((m) => m.author))
    return { ...answer.result, messages: answer.result.messages.map((m) => ({ ...m, authorName: names.get(m.author) ?? '' })) }
  }

  async diff(actor: string, groupId: string, versionId: string, to: string): Promise<DiffResponse> {
    await requireRole(this.deps.access, groupId, actor, 'viewer')
    const from = await this.locate(groupId, versionId)
    if (to === 'current') {
      return this.viewing(actor, async (load) => {
        const state = await load(from.record)()
        if (!state) throw notFound('no such version')
        return this.withRoom(from.record.room, (room) => room.diffFrom(state))
      })
    }
    const target = await this.locate(groupId, to)
    if (target.kind !== from.kind) throw notFound('the two versions are of different documents')
    const diff = await this.viewing(actor, (load) => this.deps.worker.versionDiff({ id: from.record.id, load: load(from.record) }, { id: target.record.id, load: load(target.record) }))
    if (!diff) throw notFound('no such version')
    return diff
  }

  /**
   * Runs a view on the viewer's budget (HISTORY_VIEWS_PER_MINUTE): `load` gives a version's state,
   * charged when the worker asks for it (it asks only for versions it does not hold).
   */
  private async viewing<T>(actor: string, view: (load: (record: VersionRecord) => () => Promise<Uint8Array | null>) => Promise<T>): Promise<T> {
    const bill = this.deps.viewBudget.open(actor)
    try {
      return await view((record) => () => {
        bill.loaded()
        return this.deps.versions.state(record.room, record.id)
      })
    } finally {
      bill.close()
    }
  }

  /** Keeps the live state as a version, then makes the document equal to the version. */
  async restore(actor: string, groupId: string, versionId: string): Promise<{ preRestore: VersionResponse }> {
    const access = await requireRole(this.deps.access, groupId, actor, 'editor')
    const { record, kind } = await this.locate(groupId, versionId)
    const state = await this.deps.versions.state(record.room, record.id)
    if (!state) throw notFound('no such version')
    const pre = await this.spending(actor, (bill) => this.withRoom(record.room, async (room) => {
      this.requireLogUp(room)
      // The state before is taken now and kept only once the restore is in: a refused one leaves nothing.
      const before = this.liveState(room)
      bill.copy(before.state.length) // before the restore: past the budget, nothing happens at all
      const { copies } = await this.logged(() => room.edit<'restore'>({ userId: actor, role: access.role }, { kind: 'restore', room: kind, state }))
      const made: VersionMade = { by: actor, kind: 'restore', restored: { id: record.id, name: restoredLabel(record) }, ...keptCopies(copies) }
      return this.deps.keeper.keep(room.name, before.state, beforeRestoreName(record), before.unrecorded, made)
    }))
    return { preRestore: (await this.views([pre], kind))[0]! }
  }

  /**
   * Undoes what `userId` changed in the document since `since`, as a new edit (see planRollback
   * for what that is), after keeping the state before it as a version (restore that to undo).
   */
  async rollback(actor: string, groupId: string, input: { doc: RoomKind; userId: string; since: number }): Promise<RollbackResponse> {
    const access = await requireRole(this.deps.access, groupId, actor, 'owner')
    const room = roomName(groupId, input.doc)
    const found = await this.rollbackVersions(room, input.since)
    const before = await this.spending(actor, (bill) => this.withRoom(room, async (hot) => {
      this.requireLogUp(hot)
      const live = this.liveState(hot)
      bill.copy(live.state.length) // before the rollback: past the budget, nothing happens at all
      const rollback = await this.rollbackStates(hot, input, found)
      const done = await this.logged(() => hot.edit<'rollback'>({ userId: actor, role: access.role }, { kind: 'rollback', room: input.doc, rollback }))
      const made: VersionMade = { by: actor, kind: 'rollback', user: input.userId, since: rollbackStart(input.since), ...keptCopies(done.copies) }
      const kept = await this.deps.keeper.keep(room, live.state, 'Before a rollback', live.unrecorded, made)
      return { done, kept }
    }))
    const { removed, restored } = before.done
    return { removed, restored, before: (await this.views([before.kept], input.doc))[0]! }
  }

  /**
   * What `rollback` would remove and bring back now, each with its author; changes nothing. The
   * versions it reads are charged to the viewer's HISTORY_VIEWS_PER_MINUTE like any history view.
   */
  async previewRollback(actor: string, groupId: string, input: { doc: RoomKind; userId: string; since: number }): Promise<RollbackPlanResponse> {
    await requireRole(this.deps.access, groupId, actor, 'owner')
    const room = roomName(groupId, input.doc)
    const bill = this.deps.viewBudget.open(actor)
    try {
      const found = await this.rollbackVersions(room, input.since, () => bill.loaded())
      return await this.withRoom(room, async (hot) => {
        const rollback = await this.rollbackStates(hot, input, found)
        return (await hot.view.run({ kind: 'rollback-plan', room: input.doc, rollback })).result
      })
    } finally {
      bill.close()
    }
  }

  /**
   * Restores and rollbacks after `after` (as the versions kept before them), and the caller's
   * role: what an open page polls to tell its person what others did, and whether it may still write.
   */
  async activity(actor: string, groupId: string, after: number): Promise<ActivityResponse> {
    const access = await requireRole(this.deps.access, groupId, actor, 'viewer')
    const now = Date.now()
    const notices: VersionResponse[] = []
    for (const doc of ['canvas', 'chat'] as const) {
      const recent = await this.deps.versions.list(roomName(groupId, doc), { limit: 20 })
      const acts = recent.filter((v) => v.createdAt > after && (v.made?.kind === 'restore' || v.made?.kind === 'rollback'))
      notices.push(...await this.views(acts, doc))
    }
    return { role: access.role, now, notices: notices.sort((a, b) => a.createdAt - b.createdAt) }
  }

  /** The states a rollback needs, read from the room and the records. */
  private async rollbackStates(hot: Room, input: { userId: string; since: number }, found: Pick<RollbackStates, 'sources' | 'baseline' | 'copies'>): Promise<RollbackStates> {
    // What the room holds unrecorded first, then the records: a compaction between the two reads
    // moves edits from the room into the records, never out of both (at worst into both: merged).
    // Edits from the start of the minute (what edit records can tell apart); versions, which
    // have their exact times, from the time asked.
    const start = rollbackStart(input.since)
    const live = unrecordedEdits(hot, start)
    const recorded = await this.deps.edits.list(hot.name, { since: start })
    const mine = userEdits(recorded.filter((r) => r.user === input.userId), live.get(input.userId) ?? { created: [], deleted: NO_DELETES })
    const createdSince = [...recorded.flatMap((r) => r.created), ...[...live.values()].flatMap((e) => e.created)]
    return { user: input.userId, edits: mine, createdSince, sources: found.sources, baseline: found.baseline, copies: found.copies }
  }

  /**
   * Where erased strokes can still be found: the versions since `since` and the last one before
   * it, newest first; past the bound, the newest ones and that last one before. That last one is
   * also the baseline: what was on the document at the rollback's start.
   */
  private async rollbackVersions(room: string, since: number, loading?: () => void): Promise<Pick<RollbackStates, 'sources' | 'baseline' | 'copies'>> {
    const newestFirst = (await this.deps.versions.all(room)).reverse()
    const firstBefore = newestFirst.findIndex((v) => v.createdAt <= since)
    const window = newestFirst.slice(0, firstBefore === -1 ? newestFirst.length : firstBefore + 1)
    const chosen = window.length <= ROLLBACK_SOURCES ? window : [...window.slice(0, ROLLBACK_SOURCES - 1), window.at(-1)!]
    const states = await Promise.all(chosen.map(async (v) => {
      loading?.()
      const state = await this.deps.versions.state(room, v.id)
      return state && { state, at: v.createdAt }
    }))
    const baseline = firstBefore === -1 ? null : states.at(-1)?.state ?? null
    // Copies made since: the versions kept before restores and rollbacks list them.
    const copies = newestFirst.filter((v) => v.createdAt > since).flatMap((v) => (v.made?.copies ?? []).map((copy) => ({ ...copy, at: v.createdAt })))
    return { sources: states.filter((s) => s !== null), baseline, copies }
  }

  /**
   * Runs a write that stores a copy on `actor`'s budget: one write spent up front, the copy's
   * bytes charged by the write (`bill.copy`) before it changes or stores anything. One that
   * fails stored nothing and costs nothing.
   */
  private async spending<T>(actor: string, write: (bill: WriteBill) => Promise<T>): Promise<T> {
    const bill = this.deps.writeBudget.spend(actor)
    try {
      return await write(bill)
    } catch (error) {
      bill.refund()
      throw error
    }
  }

  /** The document's named versions (and the states kept before restores and rollbacks). */
  private async namedVersions(room: string): Promise<VersionRecord[]> {
    return (await this.deps.versions.all(room)).filter((v) => v.name !== null)
  }

  /** The room's whole state now, and the writers of what it holds that no edit record has yet. */
  private liveState(room: Room): { state: Uint8Array; unrecorded: string[] } {
    const unrecorded = room.bytes.contents().since.filter((a) => !a.recorded && a.writer !== '').map((a) => a.writer)
    return { state: room.bytes.fullState(), unrecorded }
  }

  /** A version of either of the group's documents, or 404. */
  private async locate(groupId: string, versionId: string): Promise<Located> {
    for (const kind of ['canvas', 'chat'] as const) {
      const record = await this.deps.versions.get(roomName(groupId, kind), versionId)
      if (record) return { record, kind }
    }
    throw notFound('no such version')
  }

  private async views(records: VersionRecord[], doc: RoomKind): Promise<VersionResponse[]> {
    const names = await this.names(records.flatMap((r) => [...r.authors, ...(r.made ? [r.made.by, ...(r.made.user ? [r.made.user] : [])] : [])]))
    const author = (userId: string): { userId: string; name: string } => ({ userId, name: names.get(userId) ?? '' })
    return records.map((r) => ({
      id: r.id, doc, createdAt: r.createdAt, name: r.name, bytes: r.bytes, authors: r.authors.map(author),
      made: r.made ? {
        by: author(r.made.by), kind: r.made.kind,
        ...(r.made.restored && { restored: r.made.restored }),
        ...(r.made.user !== undefined && { user: author(r.made.user) }),
        ...(r.made.since !== undefined && { since: r.made.since }),
      } : null,
    }))
  }

  private async names(userIds: string[]): Promise<Map<string, string>> {
    const users = await this.deps.users.byIds([...new Set(userIds)])
    return new Map(users.map((u) => [u.id, u.name]))
  }

  private requireLogUp(room: Room): void {
    if (!room.deps.log.isUp()) throw unavailable('the document cannot be changed right now; retry', RETRY_AFTER_SECONDS)
  }

  private async logged<T>(edit: () => Promise<T>): Promise<T> {
    try {
      return await edit()
    } catch (error) {
      if (error instanceof LogUnavailableError) throw unavailable('the change could not be stored; retry', RETRY_AFTER_SECONDS)
      if (error instanceof EditRefusedError) throw forbidden(`this change is not yours to make: ${error.message}`)
      throw error
    }
  }

  private async withRoom<T>(name: string, use: (room: Room) => Promise<T>): Promise<T> {
    let room: Room
    try {
      room = await this.deps.registry.acquire(name)
    } catch {
      throw unavailable('the document is unavailable right now', RETRY_AFTER_SECONDS)
    }
    try {
      return await use(room)
    } finally {
      this.deps.registry.release(room)
    }
  }
}

/**
 * Named versions (and the states kept before restores and rollbacks) are never thinned: their
 * number and the bytes of their copies are what bound a document's history, so naming one more
 * past either quota is refused (409). A restore or rollback is only rate-limited: the state it
 * keeps first is what makes it safe to undo, so it is kept even past these quotas.
 */
function requireNamedSlot(named: readonly VersionRecord[], bytes: number, limits: Pick<HistoryDeps, 'maxNamedVersions' | 'maxNamedVersionBytes'>): void {
  if (named.length >= limits.maxNamedVersions) throw quotaExceeded(`this document keeps ${named.length} named versions, the most allowed (${limits.maxNamedVersions})`)
  const stored = storedBytes(named)
  // The new copy is counted whole, even if it turns out equal to the last one (hashed only when kept).
  if (stored + bytes > limits.maxNamedVersionBytes) {
    throw quotaExceeded(`this document's named versions keep ${stored} bytes; this one (${bytes} bytes) would pass the most allowed (${limits.maxNamedVersionBytes})`)
  }
}

/** Bytes the versions' states take in the store: a state several versions share counts once. */
function storedBytes(versions: readonly VersionRecord[]): number {
  const states = new Map(versions.map((v) => [v.sameAs ?? v.id, v.bytes]))
  return [...states.values()].reduce((sum, bytes) => sum + bytes, 0)
}

/** What the room holds of each user's edits since `since` that no edit record has yet. */
function unrecordedEdits(room: Room, since: number): Map<string, UserEdits> {
  const byUser = new Map<string, ReturnType<Room['bytes']['contents']>['since']>()
  for (const a of room.bytes.contents().since) {
    if (a.recorded || a.writer === '' || parseLogId(a.id)[0] < since) continue
    byUser.set(a.writer, [...(byUser.get(a.writer) ?? []), a])
  }
  return new Map([...byUser].map(([user, mine]) => [user, {
    created: mine.flatMap((a) => [...a.info.clients].map(([client, [first, end]]) => [client, first, end] as [number, number, number])),
    deleted: mergeDeletes(mine.filter((a) => hasDeletes(a.update, a.info)).map((a) => deletesOnly(a.update, a.info))),
  }]))
}

/**
 * The copies a restore or rollback made, as its version keeps them: at most MAX_KEPT_COPIES. A
 * version's record is read whole whenever a document's versions are listed, and one bringing
 * back 165,000 strokes would not fit a MongoDB document (found in review). Past the bound a
 * later rollback judges those strokes by the versions alone.
 */
function keptCopies(copies: StrokeCopy[]): Pick<VersionMade, 'copies'> {
  return copies.length === 0 ? {} : { copies: copies.slice(0, MAX_KEPT_COPIES) }
}

/**
 * Where a rollback starts: at the start of the minute `since` falls in. Edit records keep each
 * person's edits per minute (the log forgets their times), so a minute is the finest start that
 * means the same before and after a compaction records what the room holds.
 */
export function rollbackStart(since: number): number {
  return since - (since % EDIT_RECORD_MS)
}

/** How a restored version is named in what is kept before the restore. */
function restoredLabel(record: VersionRecord): string {
  if (record.made?.kind === 'restore') return `before the restore of "${record.made.restored?.name ?? ''}"`
  if (record.made?.kind === 'rollback') return 'before a rollback'
  return record.name ?? `the automatic version of ${new Date(record.createdAt).toISOString()}`
}

/** "Before restoring "V1"", and for an undo, "Before undoing the restore of "V1"" (never nested). */
function beforeRestoreName(record: VersionRecord): string {
  if (record.made?.kind === 'restore') return `Before undoing the restore of "${record.made.restored?.name ?? ''}"`
  if (record.made?.kind === 'rollback') return 'Before undoing a rollback'
  return `Before restoring "${record.name ?? new Date(record.createdAt).toISOString()}"`
}

function userEdits(records: Array<{ created: Array<[number, number, number]>; deleted: Uint8Array }>, live: UserEdits): UserEdits {
  return {
    created: [...records.flatMap((r) => r.created), ...live.created],
    deleted: mergeDeletes([...records.map((r) => r.deleted), live.deleted]),
  }
}

function mergeDeletes(deletions: Uint8Array[]): Uint8Array {
  return deletions.length === 0 ? NO_DELETES : Y.mergeUpdates(deletions)
}
