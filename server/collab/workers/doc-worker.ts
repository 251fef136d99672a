/**
 * The worker thread that does what would stall the event loop on big documents: building a
 * room's structural index, analysing snapshot pieces stored without their metadata, diffing
 * pieces against a peer's state vector, and holding materialized Y.Docs ("views") for
 * server-side reads and writes. Views are fed the room's accepted updates by the main thread, so
 * they stay current while they live; the main thread drops them when unused.
 */
import { parentPort } from 'node:worker_threads'
import * as Y from 'yjs'
import type { RoomKind } from '../../../shared/rooms.ts'
import { ContentGate, type GatePart, type TrustedUpdate } from '../content/content-gate.ts'
import { rulesFor, type RuleOptions } from '../content/document-rules.ts'
import { stateVectorOf } from '../sync/state-vectors.ts'
import { updateInfo, type UpdateInfo } from '../sync/update-info.ts'
import { runViewOp, type ViewAnswer, type ViewOp } from './view-ops.ts'
import { diffDocs, docFromState, type HistoryDiff } from '../../history/history-ops.ts'
import { serveRequests } from './worker-channel.ts'

export type DocRequest =
  /**
   * Pieces of a big document sent ahead, a message per turn (`stage` null opens a new stage); the
   * `index` or `view` request naming the stage takes them, followed by its own `pieces`/`load`.
   */
  | { type: 'stage'; stage: number | null; pieces: Uint8Array[] }
  | { type: 'stage-drop'; stage: number }
  /** Builds a content index and keeps it in parts, to be taken one per `index-part`. */
  | { type: 'index'; kind: RoomKind; stage: number | null; pieces: Uint8Array[]; bindings: Array<[number, string]>; updates: TrustedUpdate[]; rules: RuleOptions }
  | { type: 'index-part'; handle: number }
  | { type: 'index-drop'; handle: number }
  | { type: 'infos'; pieces: Uint8Array[] }
  | { type: 'diff'; updates: Uint8Array[]; stateVector: Uint8Array }
  | { type: 'view'; room: string; stage: number | null; load: Uint8Array[] | null; feed: Uint8Array[]; op: ViewOp }
  | { type: 'drop'; room: string }
  /** A read of a kept version (built from its state; the last few are kept built). */
  | { type: 'version'; id: string; state: Uint8Array | null; op: Extract<ViewOp, { kind: 'messages' | 'strokes' | 'svg' }> }
  | { type: 'version-diff'; from: VersionRef; to: VersionRef }

export interface DocReplies {
  stage: number
  'stage-drop': null
  index: { handle: number; parts: number }
  'index-part': GatePart
  'index-drop': null
  infos: { infos: UpdateInfo[]; stateVector: Uint8Array }
  diff: Uint8Array[]
  view: ViewAnswer<ViewOp['kind']>
  drop: null
  /** `missing`: the worker no longer holds the version built; ask again with its state. */
  version: ViewAnswer<ViewOp['kind']> | 'missing'
  'version-diff': HistoryDiff | 'missing'
}

export interface VersionRef {
  id: string
  state: Uint8Array | null
}

/** Items per part of an index: a part restores in a few milliseconds on the main thread. */
const INDEX_PART_ITEMS = 8192
const KEPT_VERSIONS = 4

/** What one doc worker holds and does (one per worker thread; a simulation runs one per node in-process). */
export class DocWork {
  private readonly views = new Map<string, Y.Doc>()
  /** Indexes built and not yet taken, by handle: their parts, in order. */
  private readonly builtIndexes = new Map<number, GatePart[]>()
  private nextHandle = 1
  /** Pieces sent ahead for a request to come, by stage. */
  private readonly stages = new Map<number, Uint8Array[]>()
  /** Versions built lately, least recently used first. */
  private readonly versions = new Map<string, Y.Doc>()

  /** Answers one request. */
  handle(request: DocRequest): { value: unknown; transfer?: ArrayBuffer[] } {
    switch (request.type) {
      case 'stage': return { value: this.stagePieces(request.stage, request.pieces) }
      case 'stage-drop':
        this.stages.delete(request.stage)
        return { value: null }
      case 'index': {
        const handle = this.nextHandle++
        const parts = buildIndex({ ...request, pieces: this.takeStaged(request.stage, request.pieces) }).toParts(INDEX_PART_ITEMS)
        this.builtIndexes.set(handle, parts)
        return { value: { handle, parts: parts.length } }
      }
      case 'index-part': return { value: this.takePart(request.handle) }
      case 'index-drop':
        this.builtIndexes.delete(request.handle)
        return { value: null }
      case 'infos': return { value: { infos: request.pieces.map(updateInfo), stateVector: stateVectorOf(request.pieces) } }
      case 'diff': return { value: request.updates.map((update) => Y.diffUpdate(update, request.stateVector)) }
      case 'view': return { value: this.view(request) }
      case 'drop':
        this.views.get(request.room)?.destroy()
        this.views.delete(request.room)
        return { value: null }
      case 'version': {
        const doc = this.versionDoc({ id: request.id, state: request.state })
        return { value: doc ? runViewOp(doc, request.op) : 'missing' }
      }
      case 'version-diff': {
        const from = this.versionDoc(request.from)
        const to = this.versionDoc(request.to)
        return { value: from && to ? diffDocs(from, to) : 'missing' }
      }
    }
  }

  /** The version built (from `state` when given), or null if it is not held and no state came. */
  private versionDoc({ id, state }: VersionRef): Y.Doc | null {
    let doc = this.versions.get(id)
    if (doc) this.versions.delete(id) // re-inserted below: Map order is the LRU order
    else if (state) doc = docFromState(state)
    if (!doc) return null
    this.versions.set(id, doc)
    for (const [oldest, old] of this.versions) {
      if (this.versions.size <= KEPT_VERSIONS) break
      old.destroy()
      this.versions.delete(oldest)
    }
    return doc
  }

  private stagePieces(stage: number | null, pieces: Uint8Array[]): number {
    if (stage === null) {
      const opened = this.nextHandle++
      this.stages.set(opened, [...pieces]) // its own list: a request is not ours to change
      return opened
    }
    const staged = this.stages.get(stage)
    if (!staged) throw new Error(`no stage ${stage}`)
    for (const piece of pieces) staged.push(piece)
    return stage
  }

  /** The pieces staged under `stage` (if any) followed by `pieces`; the stage is gone after. */
  private takeStaged(stage: number | null, pieces: Uint8Array[]): Uint8Array[] {
    if (stage === null) return pieces
    const staged = this.stages.get(stage)
    if (!staged) throw new Error(`no stage ${stage}`) // a worker that restarted meanwhile
    this.stages.delete(stage)
    return staged.concat(pieces)
  }

  private takePart(handle: number): GatePart {
    const parts = this.builtIndexes.get(handle)
    const part = parts?.shift()
    if (!parts || !part) throw new Error(`no index parts left for handle ${handle}`)
    if (parts.length === 0) this.builtIndexes.delete(handle)
    return part
  }

  private view(request: DocRequest & { type: 'view' }): ViewAnswer<ViewOp['kind']> {
    let doc = this.views.get(request.room)
    if (request.load) {
      const load = this.takeStaged(request.stage, request.load)
      doc?.destroy()
      doc = new Y.Doc()
      this.views.set(request.room, doc)
      for (const piece of load) applyQuietly(doc, piece)
    }
    if (!doc) throw new Error(`no view of ${request.room}`)
    for (const update of request.feed) applyQuietly(doc, update)
    return runViewOp(doc, request.op)
  }
}

function buildIndex(request: Omit<DocRequest & { type: 'index' }, 'stage'>): ContentGate {
  const gate = new ContentGate(rulesFor(request.kind, request.rules), { claimedBy: () => undefined })
  for (const [client, user] of request.bindings) gate.index.bind(client, user) // the snapshot's, first
  gate.trustSnapshot(request.pieces)
  gate.trust(request.updates)
  return gate
}

/** Stored and accepted updates were validated; one Yjs still rejects is skipped, as a load would. */
function applyQuietly(doc: Y.Doc, update: Uint8Array): void {
  try {
    Y.applyUpdate(doc, update)
  } catch {
    // skipped
  }
}

if (parentPort) {
  const work = new DocWork()
  serveRequests(parentPort, (request: DocRequest) => work.handle(request))
}
