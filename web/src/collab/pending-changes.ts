/**
 * Which of this page's edits to one document the server is known to hold: pure functions on
 * Yjs updates and y-websocket frames, no DOM and no second Y.Doc.
 *
 * A local update waits as what it contains: the clock ranges of its structs per client and the
 * ranges it deletes. The server logs an update before it relays or echoes anything of it, and
 * serves nothing unlogged, so whatever arrives from it is held: each update it sends (the echo
 * of ours, someone else's relayed edit, a part of its sync answer) clears the structs and
 * deletions it contains, and its state vector (its sync step 1, on connecting or when it asks
 * for a resync) clears every struct below it. Its answer to our sync step 1 carries all its
 * deletions, so a deletion it already held (whose echo was lost with a socket, or that someone
 * else made first) is cleared on reconnecting although it is never echoed.
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { AuthType, MessageType, SyncType } from '../../../shared/protocol.ts'

/** Per client id, sorted disjoint clock ranges [start, end); touching ranges are merged. */
export class ClockRanges {
  private readonly byClient = new Map<number, Array<[number, number]>>()

  get isEmpty(): boolean {
    return this.byClient.size === 0
  }

  /** The ranges, by client id in ascending order (for tests and diagnostics). */
  entries(): Array<[client: number, start: number, end: number]> {
    return [...this.byClient.keys()].sort((a, b) => a - b)
      .flatMap((client) => this.byClient.get(client)!.map(([start, end]): [number, number, number] => [client, start, end]))
  }

  add(client: number, start: number, end: number): void {
    if (end <= start) return
    const ranges = this.byClient.get(client) ?? []
    let first = 0
    while (first < ranges.length && ranges[first]![1] < start) first++
    let last = first
    while (last < ranges.length && ranges[last]![0] <= end) {
      start = Math.min(start, ranges[last]![0])
      end = Math.max(end, ranges[last]![1])
      last++
    }
    ranges.splice(first, last - first, [start, end])
    this.byClient.set(client, ranges)
  }

  /** Removes [start, end) of `client`; true if anything was there. */
  remove(client: number, start: number, end: number): boolean {
    const ranges = this.byClient.get(client)
    if (!ranges || end <= start) return false
    const kept: Array<[number, number]> = []
    let removed = false
    for (const [from, to] of ranges) {
      if (to <= start || from >= end) {
        kept.push([from, to])
        continue
      }
      removed = true
      if (from < start) kept.push([from, start])
      if (to > end) kept.push([end, to])
    }
    if (kept.length === 0) this.byClient.delete(client)
    else this.byClient.set(client, kept)
    return removed
  }

  /** Removes every clock below each client's clock in `stateVector`; true if anything was there. */
  removeBelow(stateVector: ReadonlyMap<number, number>): boolean {
    let removed = false
    for (const client of [...this.byClient.keys()]) {
      const clock = stateVector.get(client)
      if (clock !== undefined && this.remove(client, 0, clock)) removed = true
    }
    return removed
  }

  /** Removes every range of `other`; true if anything was there. */
  removeAll(other: ClockRanges): boolean {
    let removed = false
    for (const [client, start, end] of other.entries()) {
      if (this.byClient.has(client) && this.remove(client, start, end)) removed = true
    }
    return removed
  }
}

/** What an update contains: the clocks of its structs (not its skipped gaps) and what it deletes. */
export interface UpdateContent {
  structs: ClockRanges
  deletes: ClockRanges
}

export function contentOfUpdate(update: Uint8Array): UpdateContent {
  const { structs, ds } = Y.decodeUpdate(update)
  const content: UpdateContent = { structs: new ClockRanges(), deletes: new ClockRanges() }
  for (const struct of structs) {
    if (struct instanceof Y.Skip) continue
    content.structs.add(struct.id.client, struct.id.clock, struct.id.clock + struct.length)
  }
  for (const [client, items] of ds.clients) {
    for (const item of items) content.deletes.add(client, item.clock, item.clock + item.len)
  }
  return content
}

/** This page's edits to one document that the server is not known to hold yet. */
export class PendingChanges {
  private readonly structs = new ClockRanges()
  private readonly deletes = new ClockRanges()

  get isEmpty(): boolean {
    return this.structs.isEmpty && this.deletes.isEmpty
  }

  /** What is still waiting (for tests and diagnostics). */
  get waiting(): { structs: Array<[number, number, number]>; deletes: Array<[number, number, number]> } {
    return { structs: this.structs.entries(), deletes: this.deletes.entries() }
  }

  /** A local update (an edit here, or edits this browser stored earlier): all of it waits. */
  add(update: Uint8Array): void {
    const { structs, deletes } = contentOfUpdate(update)
    for (const [client, start, end] of structs.entries()) this.structs.add(client, start, end)
    for (const [client, start, end] of deletes.entries()) this.deletes.add(client, start, end)
  }

  /** An update the server sent: it holds all of it. True if that cleared anything. */
  acknowledgeUpdate(update: Uint8Array): boolean {
    if (this.isEmpty) return false // the common case costs nothing: no decoding
    const { structs, deletes } = contentOfUpdate(update)
    const clearedStructs = this.structs.removeAll(structs)
    const clearedDeletes = this.deletes.removeAll(deletes)
    return clearedStructs || clearedDeletes
  }

  /** The server's state vector: it holds every struct below it. True if that cleared anything. */
  acknowledgeStateVector(stateVector: Uint8Array): boolean {
    if (this.structs.isEmpty) return false
    return this.structs.removeBelow(Y.decodeStateVector(stateVector))
  }
}

/** What a frame from the server means for saving. */
export type ServerMessage =
  | { kind: 'state-vector'; stateVector: Uint8Array }
  | { kind: 'update'; update: Uint8Array }
  | { kind: 'permission-denied'; reason: string }
  | { kind: 'other' }

/** Reads a y-websocket frame from the server (sync step 1, step 2 and update, auth); anything else is 'other'. */
export function readServerMessage(frame: Uint8Array): ServerMessage {
  try {
    const decoder = decoding.createDecoder(frame)
    const type = decoding.readVarUint(decoder)
    if (type === MessageType.sync) {
      const syncType = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (syncType === SyncType.step1) return { kind: 'state-vector', stateVector: payload }
      if (syncType === SyncType.step2 || syncType === SyncType.update) return { kind: 'update', update: payload }
    } else if (type === MessageType.auth && decoding.readVarUint(decoder) === AuthType.permissionDenied) {
      return { kind: 'permission-denied', reason: decoding.readVarString(decoder) }
    }
  } catch {
    // A frame the provider cannot read either: it says nothing about saving.
  }
  return { kind: 'other' }
}

/**
 * saved: nothing waits. saving: edits are on their way over a live socket. unsaved: edits wait
 * with no socket, or have waited too long without the server acknowledging anything (its log may
 * be down: it asks for them again when it is back). declined: the server refused an edit.
 */
export type SaveState = 'saved' | 'saving' | 'unsaved' | 'declined'

export function saveStateOf(state: { pending: boolean; declined: boolean; connected: boolean; stalled: boolean }): SaveState {
  if (!state.pending) return 'saved'
  if (state.declined) return 'declined'
  return state.connected && !state.stalled ? 'saving' : 'unsaved'
}
