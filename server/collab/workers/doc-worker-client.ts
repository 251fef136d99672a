/**
 * The main thread's side of the doc worker (doc-worker.ts): typed calls over one lazily started
 * worker per process. Inputs go packed (packing.ts: they are views into room buffers), and a big
 * document's pieces go ahead in messages of about STAGE_BYTES, one per turn.
 */
import type { RoomKind } from '../../../shared/rooms.ts'
import type { GatePart, TrustedUpdate } from '../content/content-gate.ts'
import type { RuleOptions } from '../content/document-rules.ts'
import type { DocReplies, DocRequest } from './doc-worker.ts'
import type { UpdateInfo } from '../sync/update-info.ts'
import type { ViewAnswer, ViewOp } from './view-ops.ts'
import type { HistoryDiff } from '../../history/history-ops.ts'
import { WorkerChannel, type WorkerLike } from './worker-channel.ts'
import { inGroups, packArrays, packUpdates } from './packing.ts'

// Running from TypeScript sources (node, vitest) or from compiled dist/: same folder, own extension.
const WORKER_URL = new URL(`./doc-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)

/**
 * A big document's pieces go to the worker in messages of about this size, one per turn: each is
 * copied on this thread, and 10 MiB copied at once stalled it ~60 ms on a VM whose page faults
 * are slow (figure 4's cold load of a 10 MiB room).
 */
const STAGE_BYTES = 1024 * 1024

/** Pieces staged ahead (`stage`, null when none was needed) and the last group, to send inline. */
interface Staged {
  stage: number | null
  last: Uint8Array[]
}

export class DocWorker {
  private readonly channel: WorkerLike<DocRequest>

  /** `channel`: the worker thread (one, started lazily), unless given another. */
  constructor(channel: WorkerLike<DocRequest> = new WorkerChannel<DocRequest>(WORKER_URL)) {
    this.channel = channel
  }

  /**
   * Builds a room's content index in the worker and yields it in parts, each its own message:
   * a big document's index arrives over many event-loop turns instead of stalling one.
   */
  async *buildIndex(kind: RoomKind, pieces: Uint8Array[], bindings: ReadonlyMap<number, string>, updates: TrustedUpdate[], rules: RuleOptions): AsyncGenerator<GatePart> {
    const { stage, last } = await this.stageAhead(pieces)
    const lastPacked = packArrays(last)
    const updatesPacked = packUpdates(updates)
    const request: DocRequest = { type: 'index', kind, stage, pieces: lastPacked.value, bindings: [...bindings], updates: updatesPacked.value, rules }
    const { handle, parts } = await this.call('index', request, [...lastPacked.transfer, ...updatesPacked.transfer])
    let taken = 0
    try {
      for (; taken < parts; taken++) yield await this.call('index-part', { type: 'index-part', handle })
    } finally {
      if (taken < parts) void this.call('index-drop', { type: 'index-drop', handle }).catch(() => undefined)
    }
  }

  /** What pieces stored without metadata cover, and the state vector they hold together. */
  infos(pieces: Uint8Array[]): Promise<{ infos: UpdateInfo[]; stateVector: Uint8Array }> {
    const packed = packArrays(pieces)
    return this.call('infos', { type: 'infos', pieces: packed.value }, packed.transfer)
  }

  diff(updates: Uint8Array[], stateVector: Uint8Array): Promise<Uint8Array[]> {
    const packed = packArrays(updates)
    return this.call('diff', { type: 'diff', updates: packed.value, stateVector }, packed.transfer)
  }

  /** Runs `op` on the room's view, (re)building it from `load` when given, after applying `feed`. */
  async view<K extends ViewOp['kind']>(room: string, load: Uint8Array[] | null, feed: Uint8Array[], op: Extract<ViewOp, { kind: K }>): Promise<ViewAnswer<K>> {
    const { stage, last } = load ? await this.stageAhead(load) : { stage: null, last: null }
    const lastPacked = packArrays(last ?? [])
    const feedPacked = packArrays(feed)
    const request: DocRequest = { type: 'view', room, stage, load: last ? lastPacked.value : null, feed: feedPacked.value, op }
    return await this.call('view', request, [...lastPacked.transfer, ...feedPacked.transfer]) as ViewAnswer<K>
  }

  /** A read of a kept version; `load` gives its state (omitted: the worker may have it built). */
  async version<K extends 'messages' | 'strokes' | 'svg'>(id: string, load: () => Promise<Uint8Array | null>, op: Extract<ViewOp, { kind: K }>): Promise<ViewAnswer<K> | null> {
    const answer = await this.call('version', { type: 'version', id, state: null, op })
    if (answer !== 'missing') return answer as ViewAnswer<K>
    const state = await load()
    if (!state) return null
    const loaded = await this.call('version', { type: 'version', id, state, op }, wholeBuffers(state))
    return loaded === 'missing' ? null : loaded as ViewAnswer<K>
  }

  /** What changed between two kept versions (each loaded if the worker does not hold it). */
  async versionDiff(from: { id: string; load(): Promise<Uint8Array | null> }, to: { id: string; load(): Promise<Uint8Array | null> }): Promise<HistoryDiff | null> {
    const cached = await this.call('version-diff', { type: 'version-diff', from: { id: from.id, state: null }, to: { id: to.id, state: null } })
    if (cached !== 'missing') return cached
    const [a, b] = await Promise.all([from.load(), to.load()])
    if (!a || !b) return null
    const loaded = await this.call('version-diff', { type: 'version-diff', from: { id: from.id, state: a }, to: { id: to.id, state: b } }, wholeBuffers(a, b))
    return loaded === 'missing' ? null : loaded
  }

  async drop(room: string): Promise<void> {
    await this.call('drop', { type: 'drop', room })
  }

  /** Views held by a worker that died are gone. */
  onRestart(listener: () => void): () => void {
    return this.channel.onRestart(listener)
  }

  /** The worker thread's JS heap in use (metrics: memory by thread). */
  heapUsed(): Promise<number | null> {
    return this.channel.heapUsed?.() ?? Promise.resolve(null)
  }

  close(): Promise<void> {
    return this.channel.close()
  }

  /**
   * Sends all but the last group of `pieces` ahead, a message per turn; the caller sends the last
   * with its request. Should a message fail (the worker restarted), what was staged is dropped.
   */
  private async stageAhead(pieces: Uint8Array[]): Promise<Staged> {
    const groups = inGroups(pieces, STAGE_BYTES)
    const last = groups.pop() ?? []
    let stage: number | null = null
    try {
      for (const group of groups) {
        const packed = packArrays(group)
        stage = await this.call('stage', { type: 'stage', stage, pieces: packed.value }, packed.transfer)
      }
    } catch (error) {
      if (stage !== null) void this.call('stage-drop', { type: 'stage-drop', stage }).catch(() => undefined)
      throw error
    }
    return { stage, last }
  }

  private call<K extends keyof DocReplies>(_kind: K, request: DocRequest, transfer?: ArrayBuffer[]): Promise<DocReplies[K]> {
    return this.channel.call<DocReplies[K]>(request, transfer)
  }
}

/**
 * The buffers that `arrays` each span whole, to move to the worker rather than copy: a version's
 * state is a fresh buffer from storage that nothing here reads again, and copying two 10 MiB
 * states on every diff stalled this thread (figure 11). A view into a larger buffer (a pooled or
 * shared one) is copied as before.
 */
function wholeBuffers(...arrays: Uint8Array[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>()
  for (const array of arrays) {
    if (array.buffer instanceof ArrayBuffer && array.byteOffset === 0 && array.byteLength === array.buffer.byteLength) buffers.add(array.buffer)
  }
  return [...buffers]
}
