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
  /** Builds a content index and keeps it in parts, to be taken one per `index-part`. */
  | { type: 'index'; kind: RoomKind; pieces: Uint8Array[]; bindings: Array<[number, string]>; updates: TrustedUpdate[]; rules: RuleOptions }
  | { type: 'index-part'; handle: number }
  | { type: 'index-drop'; handle: number }
  | { type: 'infos'; pieces: Uint8Array[] }
  | { type: 'diff'; updates: Uint8Array[]; stateVector: Uint8Array }
  | { type: 'view'; room: string; load: Uint8Array[] | null; feed: Uint8Array[]; op: ViewOp }
  | { type: 'drop'; room: string }
  /** A read of a kept version (built from its state; the last few are kept built). */
  | { type: 'version'; id: string; state: Uint8Array | null; op: Extract<ViewOp, { kind: 'messages' | 'strokes' | 'svg' }> }
  | { type: 'version-diff'; from: VersionRef; to: VersionRef }

export interface DocReplies {
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
  /** Versions built lately, least recently used first. */
  private readonly versions = new Map<string, Y.Doc>()

  /** Answers one request. */
  handle(request: DocRequest): { value: unknown; transfer?: ArrayBuffer[] } {
    switch (request.type) {
      case 'index': {
        const handle = this.nextHandle++
        const parts = buildIndex(request).toParts(INDEX_PART_ITEMS)
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
      doc?.destroy()
      doc = new Y.Doc()
      this.views.set(request.room, doc)
      for (const piece of request.load) applyQuietly(doc, piece)
    }
    if (!doc) throw new Error(`no view of ${request.room}`)
    for (const update of request.feed) applyQuietly(doc, update)
    return runViewOp(doc, request.op)
  }
}

function buildIndex(request: DocRequest & { type: 'index' }): ContentGate {
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
