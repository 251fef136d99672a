/**
 * Which local edits the server is known to hold (web/src/collab/pending-changes.ts): pure
 * functions on Yjs updates and y-websocket frames, tested without a browser or a server. A
 * "server" here is a plain Y.Doc standing for what the server holds; what it sends is what the
 * real one sends: echoes of what it lacked (`Y.diffUpdate` against its state vector), its state
 * vector, and sync answers (`Y.encodeStateAsUpdate`, which carry every deletion).
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { addStroke, appendPoints, eraseStroke, strokesOf } from '../../shared/canvas.ts'
import { postMessage } from '../../shared/chat.ts'
import { AuthType, MessageType, SyncType } from '../../shared/protocol.ts'
import { ClockRanges, contentOfUpdate, PendingChanges, readServerMessage, saveStateOf } from '../../web/src/collab/pending-changes.ts'

/** A client doc whose local updates go into `pending` (as the page's SaveTracker does). */
function localDoc(clientID: number): { doc: Y.Doc; pending: PendingChanges; updates: Uint8Array[] } {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const pending = new PendingChanges()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin === 'server') return
    updates.push(update)
    pending.add(update)
  })
  return { doc, pending, updates }
}

/**
 * The server logs what it lacks of an update and returns that (the echo: what the update event of
 * applying it holds, new structs and new deletions); null when it lacked nothing.
 */
function serverTakes(server: Y.Doc, update: Uint8Array): Uint8Array | null {
  let lacked: Uint8Array | null = null
  const take = (applied: Uint8Array): void => { lacked = applied }
  server.on('update', take)
  Y.applyUpdate(server, update)
  server.off('update', take)
  return lacked
}

const pen = (author: string) => ({ author, color: '#123456', width: 3, tool: 'pen' as const, points: [[0, 0]] as Array<[number, number]> })

describe('ClockRanges', () => {
  it('merges overlapping and touching ranges, keeps gaps', () => {
    const ranges = new ClockRanges()
    ranges.add(1, 5, 8)
    ranges.add(1, 0, 2)
    ranges.add(1, 8, 10) // touches 5–8
    ranges.add(1, 3, 4)
    ranges.add(2, 0, 1)
    ranges.add(1, 1, 3) // bridges 0–2 and 3–4
    expect(ranges.entries()).toEqual([[1, 0, 4], [1, 5, 10], [2, 0, 1]])
  })

  it('removes a range, splitting what it cuts, and says whether anything was there', () => {
    const ranges = new ClockRanges()
    ranges.add(1, 0, 10)
    expect(ranges.remove(1, 3, 5)).toBe(true)
    expect(ranges.entries()).toEqual([[1, 0, 3], [1, 5, 10]])
    expect(ranges.remove(1, 3, 5)).toBe(false)
    expect(ranges.remove(2, 0, 100)).toBe(false)
    expect(ranges.removeBelow(new Map([[1, 7], [3, 4]]))).toBe(true)
    expect(ranges.entries()).toEqual([[1, 7, 10]])
    expect(ranges.remove(1, 0, 100)).toBe(true)
    expect(ranges.isEmpty).toBe(true)
  })
})

describe('contentOfUpdate', () => {
  it('reads struct clocks per client and deleted ranges', () => {
    const { doc, updates } = localDoc(7)
    const stroke = addStroke(doc, pen('u1'))
    appendPoints(stroke, [[1, 1], [2, 2]])
    const drawn = contentOfUpdate(Y.mergeUpdates(updates))
    expect(drawn.deletes.isEmpty).toBe(true)
    expect(drawn.structs.entries()).toEqual([[7, 0, Y.getState(doc.store, 7)]])
    eraseStroke(doc, stroke.get('id') as string)
    const erased = contentOfUpdate(updates.at(-1)!)
    expect(erased.structs.isEmpty).toBe(true) // an erase creates nothing
    expect(erased.deletes.entries().length).toBeGreaterThan(0)
    expect(erased.deletes.entries().every(([client]) => client === 7)).toBe(true)
  })

  it('leaves out the gaps (skips) of a merged update', () => {
    const { doc, updates } = localDoc(9)
    const stroke = addStroke(doc, pen('u1'))
    appendPoints(stroke, [[1, 1]])
    appendPoints(stroke, [[2, 2]])
    const [first, , third] = updates
    const merged = Y.mergeUpdates([first!, third!])
    const content = contentOfUpdate(merged)
    const second = contentOfUpdate(updates[1]!).structs.entries()[0]!
    expect(content.structs.entries()).toEqual([[9, 0, second[1]], [9, second[2], Y.getState(doc.store, 9)]])
  })
})

describe('PendingChanges', () => {
  it('a local edit waits until the server echoes it', () => {
    const server = new Y.Doc()
    const { doc, pending, updates } = localDoc(1)
    addStroke(doc, pen('u1'))
    expect(pending.isEmpty).toBe(false)
    const echo = serverTakes(server, updates[0]!)!
    expect(pending.acknowledgeUpdate(echo)).toBe(true)
    expect(pending.isEmpty).toBe(true)
  })

  it('echoes arrive one by one while drawing: each clears its own part only', () => {
    const server = new Y.Doc()
    const { doc, pending, updates } = localDoc(1)
    const stroke = addStroke(doc, pen('u1'))
    appendPoints(stroke, [[1, 1]])
    appendPoints(stroke, [[2, 2]])
    const echoes = updates.map((update) => serverTakes(server, update)!)
    pending.acknowledgeUpdate(echoes[0]!)
    pending.acknowledgeUpdate(echoes[2]!)
    expect(pending.waiting.structs).toEqual(contentOfUpdate(updates[1]!).structs.entries())
    pending.acknowledgeUpdate(echoes[1]!)
    expect(pending.isEmpty).toBe(true)
  })

  it('another user\'s updates never add to it, and clear nothing of ours', () => {
    const server = new Y.Doc()
    const { doc, pending, updates } = localDoc(1)
    const other = new Y.Doc()
    other.clientID = 2
    addStroke(doc, pen('u1'))
    serverTakes(server, updates[0]!) // logged, its echo not here yet
    addStroke(other, pen('u2'))
    const relayed = serverTakes(server, Y.encodeStateAsUpdate(other))!
    Y.applyUpdate(doc, relayed, 'server') // applied with the provider as origin: not tracked
    expect(pending.acknowledgeUpdate(relayed)).toBe(false)
    expect(pending.waiting.structs).toEqual([[1, 0, Y.getState(doc.store, 1)]])
  })

  it('offline edits: the server\'s state vector after reconnecting clears what it already had, the echo the rest', () => {
    const server = new Y.Doc()
    const { doc, pending, updates } = localDoc(1)
    const stroke = addStroke(doc, pen('u1'))
    appendPoints(stroke, [[1, 1]])
    // The first update was logged but its echo was lost with the socket.
    serverTakes(server, updates[0]!)
    appendPoints(stroke, [[2, 2]]) // offline
    addStroke(doc, pen('u1'))
    // Reconnect: the server's sync step 1.
    expect(pending.acknowledgeStateVector(Y.encodeStateVector(server))).toBe(true)
    expect(pending.waiting.structs).toEqual([[1, Y.getState(server.store, 1), Y.getState(doc.store, 1)]])
    // The provider answers with what the server lacks; the server echoes only that.
    const echo = serverTakes(server, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(server)))!
    expect(pending.acknowledgeUpdate(echo)).toBe(true)
    expect(pending.isEmpty).toBe(true)
  })

  it('a change whose content the server already holds is saved by its state vector alone (nothing is echoed)', () => {
    const server = new Y.Doc()
    const { doc, pending, updates } = localDoc(1)
    addStroke(doc, pen('u1'))
    serverTakes(server, updates[0]!)
    expect(serverTakes(server, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(server)))).toBeNull()
    expect(pending.isEmpty).toBe(false)
    pending.acknowledgeStateVector(Y.encodeStateVector(server))
    expect(pending.isEmpty).toBe(true)
  })

  it('a deletion the server holds is cleared by the deletions its sync answer carries, never by its state vector', () => {
    const server = new Y.Doc()
    const { doc, pending, updates } = localDoc(1)
    const stroke = addStroke(doc, pen('u1'))
    pending.acknowledgeUpdate(serverTakes(server, updates[0]!)!)
    eraseStroke(doc, stroke.get('id') as string)
    serverTakes(server, updates[1]!) // logged; the echo lost with the socket
    expect(pending.acknowledgeStateVector(Y.encodeStateVector(server))).toBe(false)
    expect(pending.waiting.deletes.length).toBeGreaterThan(0)
    // The answer to the client's sync step 1: what it lacks (nothing) and every deletion.
    const answer = Y.encodeStateAsUpdate(server, Y.encodeStateVector(doc))
    expect(pending.acknowledgeUpdate(answer)).toBe(true)
    expect(pending.isEmpty).toBe(true)
  })

  it('an offline erase is saved once its echo arrives, and a deletion someone else made first by their relay', () => {
    const server = new Y.Doc()
    const { doc, pending, updates } = localDoc(1)
    const other = new Y.Doc()
    other.clientID = 2
    const mine = addStroke(doc, pen('u1'))
    const shared = addStroke(doc, pen('u1'))
    pending.acknowledgeUpdate(serverTakes(server, Y.mergeUpdates(updates))!)
    Y.applyUpdate(other, Y.encodeStateAsUpdate(server))
    expect(pending.isEmpty).toBe(true)
    // Both erase `shared`; the other user's erase is logged first.
    const before = Y.encodeStateVector(other)
    eraseStroke(other, shared.get('id') as string)
    const theirs = serverTakes(server, Y.encodeStateAsUpdate(other, before))!
    eraseStroke(doc, shared.get('id') as string)
    eraseStroke(doc, mine.get('id') as string)
    const echo = serverTakes(server, Y.mergeUpdates(updates.slice(-2)))!
    pending.acknowledgeUpdate(echo) // only what the server lacked: the erase of `mine`
    expect(pending.isEmpty).toBe(false)
    pending.acknowledgeUpdate(theirs) // the relay of the other erase
    expect(pending.isEmpty).toBe(true)
  })

  it('a chat message is a change like any other', () => {
    const server = new Y.Doc()
    const { doc, pending, updates } = localDoc(3)
    postMessage(doc, { author: 'u1', authorName: 'Ann', text: 'hello' })
    expect(pending.isEmpty).toBe(false)
    pending.acknowledgeUpdate(serverTakes(server, updates[0]!)!)
    expect(pending.isEmpty).toBe(true)
  })

  it('edits loaded from the browser\'s storage wait like local ones until the server says it holds them', () => {
    const earlier = new Y.Doc()
    earlier.clientID = 5
    const stroke = addStroke(earlier, pen('u1'))
    const server = new Y.Doc()
    Y.applyUpdate(server, Y.encodeStateAsUpdate(earlier)) // saved in an earlier visit
    appendPoints(stroke, [[4, 4]]) // not saved: the page closed offline
    eraseStroke(earlier, stroke.get('id') as string)
    const { doc, pending } = localDoc(6)
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(earlier), 'indexeddb')
    expect(strokesOf(doc).length).toBe(0)
    pending.acknowledgeStateVector(Y.encodeStateVector(server))
    pending.acknowledgeUpdate(Y.encodeStateAsUpdate(server, Y.encodeStateVector(doc)))
    expect(pending.waiting.structs).toEqual([[5, Y.getState(server.store, 5), Y.getState(earlier.store, 5)]])
    expect(pending.waiting.deletes.length).toBeGreaterThan(0)
    pending.acknowledgeUpdate(serverTakes(server, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(server)))!)
    expect(pending.isEmpty).toBe(true)
  })

  it('costs nothing while nothing waits: server updates are not even decoded', () => {
    const pending = new PendingChanges()
    expect(pending.acknowledgeUpdate(new Uint8Array([0xff, 0xff, 0xff]))).toBe(false)
    expect(pending.acknowledgeStateVector(new Uint8Array([0xff]))).toBe(false)
  })
})

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

function syncFrame(type: number, payload: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.sync)
    encoding.writeVarUint(e, type)
    encoding.writeVarUint8Array(e, payload)
  })
}

describe('readServerMessage', () => {
  const update = Y.encodeStateAsUpdate(new Y.Doc())
  it('reads sync step 1 as a state vector, step 2 and update as updates, permission-denied with its reason', () => {
    const vector = Y.encodeStateVector(new Map([[1, 4]]))
    expect(readServerMessage(syncFrame(SyncType.step1, vector))).toEqual({ kind: 'state-vector', stateVector: vector })
    expect(readServerMessage(syncFrame(SyncType.step2, update))).toEqual({ kind: 'update', update })
    expect(readServerMessage(syncFrame(SyncType.update, update))).toEqual({ kind: 'update', update })
    const denied = frame((e) => {
      encoding.writeVarUint(e, MessageType.auth)
      encoding.writeVarUint(e, AuthType.permissionDenied)
      encoding.writeVarString(e, 'read-only: viewers cannot edit this document')
    })
    expect(readServerMessage(denied)).toEqual({ kind: 'permission-denied', reason: 'read-only: viewers cannot edit this document' })
  })

  it('anything else, truncated frames included, says nothing about saving', () => {
    expect(readServerMessage(frame((e) => { encoding.writeVarUint(e, MessageType.awareness); encoding.writeVarUint8Array(e, new Uint8Array([0])) }))).toEqual({ kind: 'other' })
    expect(readServerMessage(new Uint8Array([MessageType.sync, SyncType.update, 50, 1]))).toEqual({ kind: 'other' })
    expect(readServerMessage(new Uint8Array([]))).toEqual({ kind: 'other' })
  })
})

describe('saveStateOf', () => {
  it('is saved when nothing waits, whatever else holds', () => {
    expect(saveStateOf({ pending: false, declined: true, connected: false, stalled: true })).toBe('saved')
  })
  it('is saving over a live socket, not yet saved without one or once acknowledgements stall, declined after a refusal', () => {
    expect(saveStateOf({ pending: true, declined: false, connected: true, stalled: false })).toBe('saving')
    expect(saveStateOf({ pending: true, declined: false, connected: false, stalled: false })).toBe('unsaved')
    expect(saveStateOf({ pending: true, declined: false, connected: true, stalled: true })).toBe('unsaved')
    expect(saveStateOf({ pending: true, declined: true, connected: true, stalled: false })).toBe('declined')
  })
})
