/**
 * Content rules and client-id bindings checked on update bytes (no Y.Doc on the server side):
 * every update here is made by a real Yjs document, honest or forged.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { addStroke, appendPoints, CANVAS_LIMITS, eraseStroke, strokesOf } from '../../shared/canvas.ts'
import { messagesOf, postMessage } from '../../shared/chat.ts'
import { CanvasRules } from '../../server/collab/content/canvas-rules.ts'
import { ChatRules } from '../../server/collab/content/chat-rules.ts'
import { ContentGate, type Author, type Verdict } from '../../server/collab/content/content-gate.ts'
import { StructIndex } from '../../server/collab/content/struct-index.ts'
import { splitUpdate } from '../../server/collab/sync/split-update.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'

const ANN: Author = { userId: 'ann', role: 'editor' }
const BOB: Author = { userId: 'bob', role: 'editor' }
const OWNER: Author = { userId: 'olga', role: 'owner' }
const DAY = 24 * 60 * 60 * 1000

/** A client's document that records its updates; `apply` syncs it with what others did. */
class Peer {
  readonly doc: Y.Doc
  private updates: Uint8Array[] = []

  constructor(clientId: number) {
    this.doc = new Y.Doc()
    this.doc.clientID = clientId
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'remote') this.updates.push(update)
    })
  }

  /** The updates made since the last call, merged into one. */
  take(): Uint8Array {
    const taken = Y.mergeUpdates(this.updates)
    this.updates = []
    return taken
  }

  apply(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, 'remote')
  }
}

function canvasGate(claims: Record<number, string> = {}): ContentGate {
  return new ContentGate(new CanvasRules(), { claimedBy: (client) => claims[client] })
}

function chatGate(now = Date.now()): ContentGate {
  return new ContentGate(new ChatRules({ offlineWindowMs: 7 * DAY, maxFutureMs: 120_000 }), { claimedBy: () => undefined, now: () => now })
}

/** Checks and, when accepted, takes the update in (as the room does before logging it). */
function submit(gate: ContentGate, update: Uint8Array, author: Author): Verdict {
  const verdict = gate.check(update, author)
  if (verdict.kind === 'accept') gate.accept(verdict.update, author)
  return verdict
}

function expectRefused(verdict: Verdict, reason: RegExp): void {
  expect(verdict.kind).toBe('refuse')
  if (verdict.kind === 'refuse') expect(verdict.reason).toMatch(reason)
}

/**
 * The verdict once the intake has judged an update (after holding it, if it was foreign): the
 * first check must not accept it; the judged check gives the final verdict and its reason.
 */
function judged(gate: ContentGate, update: Uint8Array, author: Author): Verdict {
  expect(gate.check(update, author).kind).not.toBe('accept')
  return gate.check(update, author, true)
}

/** Not accepted: held by the intake until this node has read the log far enough, then refused if still foreign. */
function expectForeign(verdict: Verdict, reason: RegExp): void {
  expect(verdict.kind).toBe('foreign')
  if (verdict.kind === 'foreign') expect(verdict.reason).toMatch(reason)
}

const stroke = (author: string) => ({ author, color: '#112233', width: 3, tool: 'pen' as const, points: [[1, 2], [3, 4]] as const })

describe('canvas rules', () => {
  it('accept honest drawing, point streaming, own edits and erasing by anyone', () => {
    const gate = canvasGate()
    const ann = new Peer(1)
    const bob = new Peer(2)
    const map = addStroke(ann.doc, stroke('ann'))
    expect(submit(gate, ann.take(), ANN).kind).toBe('accept')
    for (let i = 0; i < 20; i++) appendPoints(map, [[i, i]])
    expect(submit(gate, ann.take(), ANN).kind).toBe('accept')
    map.set('color', '#abcdef')
    expect(submit(gate, ann.take(), ANN).kind).toBe('accept')
    bob.apply(Y.encodeStateAsUpdate(ann.doc))
    eraseStroke(bob.doc, map.get('id') as string)
    expect(submit(gate, bob.take(), BOB).kind).toBe('accept')
  })

  it('refuse points, field changes and single-point deletes on someone else\'s stroke', () => {
    const gate = canvasGate()
    const ann = new Peer(1)
    const bob = new Peer(2)
    addStroke(ann.doc, stroke('ann'))
    submit(gate, ann.take(), ANN)
    bob.apply(Y.encodeStateAsUpdate(ann.doc))
    const hers = strokesOf(bob.doc).get(0)
    appendPoints(hers, [[9, 9]])
    expectRefused(judged(gate, bob.take(), BOB), /author/)

    const bob2 = new Peer(3)
    bob2.apply(Y.encodeStateAsUpdate(ann.doc))
    strokesOf(bob2.doc).get(0).set('color', '#000000')
    expectRefused(judged(gate, bob2.take(), BOB), /author/)

    const bob3 = new Peer(4)
    bob3.apply(Y.encodeStateAsUpdate(ann.doc))
    ;(strokesOf(bob3.doc).get(0).get('points') as Y.Array<number>).delete(0, 2)
    expectRefused(judged(gate, bob3.take(), BOB), /erase it whole/)
  })

  it('refuse a stroke attributed to someone else, bad fields, other roots and too many points', () => {
    const gate = canvasGate()
    const forger = new Peer(7)
    addStroke(forger.doc, stroke('ann'))
    expectRefused(judged(gate, forger.take(), BOB), /author must be the user/)

    const cases: Array<[(doc: Y.Doc) => void, RegExp]> = [
      [(doc) => { const m = new Y.Map(); strokesOf(doc).push([m]); m.set('color', 'red') }, /colour/],
      [(doc) => { const m = new Y.Map(); strokesOf(doc).push([m]); m.set('width', 1e9) }, /width/],
      [(doc) => { const m = new Y.Map(); strokesOf(doc).push([m]); m.set('tool', 'laser') }, /tool/],
      [(doc) => { const m = new Y.Map(); strokesOf(doc).push([m]); m.set('extra', 'x'.repeat(2_000_000)) }, /unknown stroke field/],
      [(doc) => { doc.getMap('junk').set('x', 'y'.repeat(100_000)) }, /not part of the canvas/],
      [(doc) => { strokesOf(doc).push(['a string, not a map' as unknown as Y.Map<unknown>]) }, /must be a map/],
      [(doc) => { const m = new Y.Map(); strokesOf(doc).push([m]); const p = new Y.Array(); m.set('points', p); p.push([Number.POSITIVE_INFINITY]) }, /coordinates/],
      [(doc) => { const m = new Y.Map(); strokesOf(doc).push([m]); const n = new Y.Map(); m.set('points', n) }, /points must be an array/],
    ]
    let client = 100
    for (const [edit, reason] of cases) {
      const peer = new Peer(client++)
      edit(peer.doc)
      expectRefused(judged(gate, peer.take(), BOB), reason)
    }

    const big = new Peer(client++)
    const map = addStroke(big.doc, stroke('bob'))
    ;(map.get('points') as Y.Array<number>).push(new Array(2 * CANVAS_LIMITS.maxPointsPerStroke).fill(1))
    expectRefused(judged(gate, big.take(), BOB), /at most/)
  })

  it('never accept structs under a client id bound to another user or claimed by her presence (the hijack): they are foreign', () => {
    const gate = canvasGate({ 55: 'ann' })
    const ann = new Peer(1)
    addStroke(ann.doc, stroke('ann'))
    submit(gate, ann.take(), ANN)
    // Bob writes a garbage range under Ann's client id, ahead of her clock, covering 1,000,000 clocks.
    expectForeign(gate.check(gcRange(1, Y.getState(ann.doc.store, 1) + 3, 1_000_000), BOB), /belongs to another user/)
    // …or under the id her connected socket claimed in presence before she wrote anything.
    expectForeign(gate.check(gcRange(55, 0, 10), BOB), /belongs to another user/)
    // Ann keeps drawing.
    appendPoints(strokesOf(ann.doc).get(0), [[5, 5]])
    expect(submit(gate, ann.take(), ANN).kind).toBe('accept')
  })

  it('never accept deleting another user\'s content the document does not have yet (it would erase her future strokes)', () => {
    const gate = canvasGate()
    const ann = new Peer(1)
    addStroke(ann.doc, stroke('ann'))
    submit(gate, ann.take(), ANN)
    expectForeign(gate.check(deleteOnly(1, 0, 1_000_000), BOB), /does not have/)
  })

  it('hold an erase that comes before the stroke it erases, under an id nobody holds, then judge it by the rules', () => {
    for (const eraser of [BOB, ANN]) {
      const gate = canvasGate()
      const bob = new Peer(2)
      const id = addStroke(bob.doc, stroke('bob')).get('id') as string
      const drawn = bob.take()
      eraseStroke(bob.doc, id)
      const erased = bob.take()
      expect(gate.check(erased, eraser).kind).toBe('pending') // out of order: the stroke comes later
      expect(submit(gate, drawn, BOB).kind).toBe('accept')
      expect(submit(gate, erased, eraser).kind).toBe('accept') // erasing a whole stroke is for every editor
    }
    const chat = chatGate()
    const bob = new Peer(2)
    postMessage(bob.doc, { id: 'm1', author: 'bob', authorName: 'Bob', text: 'hi', time: Date.now() })
    const posted = bob.take()
    messagesOf(bob.doc).delete(0, 1)
    const removed = bob.take()
    expect(chat.check(removed, ANN).kind).toBe('pending')
    expect(submit(chat, posted, BOB).kind).toBe('accept')
    expectRefused(judged(chat, removed, ANN), /author or the group owner/) // once known, the rules decide
  })

  it('hold updates whose dependencies are missing, then accept them once they arrive', () => {
    const gate = canvasGate()
    const ann = new Peer(1)
    const map = addStroke(ann.doc, stroke('ann'))
    const first = ann.take()
    appendPoints(map, [[7, 7]])
    const second = ann.take()
    expect(gate.check(second, ANN).kind).toBe('pending')
    expect(submit(gate, first, ANN).kind).toBe('accept')
    expect(submit(gate, second, ANN).kind).toBe('accept')
  })

  it('keep trusted content whose dependencies have not arrived waiting, and place it once they do', () => {
    const ann = new Peer(1)
    const map = addStroke(ann.doc, stroke('ann'))
    const first = ann.take()
    appendPoints(map, [[7, 7]])
    const second = ann.take()
    const gate = canvasGate()
    gate.trust([{ writer: 'ann', update: second }]) // another node's entry, ahead of what it builds on
    expect(gate.index.state(1)).toBe(0) // not put anywhere yet
    gate.trust([{ writer: 'ann', update: first }])
    appendPoints(map, [[8, 8]])
    expect(submit(gate, ann.take(), ANN).kind).toBe('accept') // the points landed in her stroke
  })

  it('keep waiting content waiting in a gate passed between threads in parts', () => {
    const ann = new Peer(1)
    const map = addStroke(ann.doc, stroke('ann'))
    const first = ann.take()
    appendPoints(map, [[7, 7]])
    const second = ann.take()
    const built = canvasGate()
    built.trust([{ writer: 'ann', update: second }])
    const gate = canvasGate()
    for (const part of built.toParts(2)) gate.restore(part)
    expect(gate.index.state(1)).toBe(0)
    gate.trust([{ writer: 'ann', update: first }])
    expect(gate.index.state(1)).toBe(Y.getState(ann.doc.store, 1)) // what waited was placed
  })

  it('know the document again from its pieces (a restart) and keep every rule', () => {
    const ann = new Peer(1)
    const bob = new Peer(2)
    let map = addStroke(ann.doc, stroke('ann'))
    for (let i = 0; i < 40; i++) {
      map = addStroke(ann.doc, stroke('ann'))
      appendPoints(map, [[i, -i]])
      Y.applyUpdate(bob.doc, ann.take())
      addStroke(bob.doc, stroke('bob'))
      Y.applyUpdate(ann.doc, bob.take())
    }
    const state = Y.encodeStateAsUpdate(ann.doc)
    const pieces = splitUpdate(state, 512)
    expect(pieces.length).toBeGreaterThan(4)
    const gate = canvasGate()
    gate.trust(pieces.slice().reverse().map((update) => ({ writer: '', update }))) // pieces point at each other both ways
    expect([1, 2].map((client) => gate.index.state(client))).toEqual([Y.getState(ann.doc.store, 1), Y.getState(ann.doc.store, 2)])
    const eraser = new Peer(3)
    eraser.apply(Y.encodeStateAsUpdate(ann.doc))
    for (let i = 0; i < 10; i++) eraseStroke(eraser.doc, strokesOf(eraser.doc).get(i * 7).get('id') as string)
    expect(submit(gate, eraser.take(), BOB).kind).toBe('accept') // every stroke was placed in the root

    const gate2 = canvasGate()
    gate2.trust([{ writer: 'bob', update: onlyClient(bob.doc, 2) }, { writer: 'ann', update: onlyClient(ann.doc, 1) }])
    appendPoints(map, [[1, 1]])
    const more = ann.take()
    expect(submit(gate2, more, ANN).kind).toBe('accept')
    const thief = new Peer(9)
    thief.apply(Y.encodeStateAsUpdate(ann.doc))
    appendPoints(strokesOf(thief.doc).get(0), [[2, 2]])
    expectRefused(judged(gate2, thief.take(), BOB), /author/)
  })
})

describe('content index in parts', () => {
  it('restores a gate part by part, with every rule and binding (parts as small as 3 items)', () => {
    const ann = new Peer(1)
    for (let i = 0; i < 30; i++) appendPoints(addStroke(ann.doc, stroke('ann')), [[i, i], [i, -i]])
    eraseStroke(ann.doc, strokesOf(ann.doc).get(3).get('id') as string)
    const built = canvasGate()
    built.trust([{ writer: 'ann', update: ann.take() }])
    const parts = built.toParts(3)
    expect(parts.length).toBeGreaterThan(20)
    const gate = canvasGate()
    for (const part of parts) gate.restore(part)
    expect(gate.index.stateVector()).toEqual(built.index.stateVector())
    expect(gate.index.bindings).toEqual(built.index.bindings)
    expect(gate.index.isDeleted(1, 0)).toBe(built.index.isDeleted(1, 0))
    const thief = new Peer(9)
    thief.apply(Y.encodeStateAsUpdate(ann.doc))
    appendPoints(strokesOf(thief.doc).get(0), [[2, 2]])
    const stolen = thief.take()
    expectRefused(judged(gate, stolen, BOB), /author/)
    appendPoints(strokesOf(ann.doc).get(0), [[5, 5]])
    const own = ann.take()
    expect(gate.check(own, ANN).kind).toBe('accept')
    expect(built.check(own, ANN).kind).toBe('accept')
  })

  it('restores the index of a big document (300,000 containers) in parts', () => {
    const big = new StructIndex()
    for (let i = 0; i < 300_000; i++) big.containerFor({ client: 1, clock: i }, 'points')
    const index = new StructIndex()
    const parts = big.toParts(8192)
    expect(parts.length).toBeGreaterThan(30)
    for (const part of parts) index.restore(part)
    expect(index.container(300_001).owner).toEqual({ client: 1, clock: 299_999 })
    expect(index.containerFor({ client: 1, clock: 5 }, 'points')).toBe(7)
    expect(() => new StructIndex().restore(parts[1]!)).toThrow(/out of order/)
  })
})

describe('chat rules', () => {
  const now = Date.UTC(2026, 10, 29, 12)

  it('accept honest messages, including one written offline days ago', () => {
    const gate = chatGate(now)
    const ann = new Peer(1)
    postMessage(ann.doc, { author: 'ann', authorName: 'Ann', text: 'hello', time: now - 6 * DAY })
    postMessage(ann.doc, { author: 'ann', authorName: 'Ann', text: 'again', time: now })
    expect(submit(gate, ann.take(), ANN).kind).toBe('accept')
  })

  it('refuse forged authors, taken ids, bad times, oversized text or names and extra fields', () => {
    const gate = chatGate(now)
    const ann = new Peer(1)
    postMessage(ann.doc, { author: 'ann', authorName: 'Ann', text: 'hello', time: now, id: 'taken-id' })
    submit(gate, ann.take(), ANN)
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ id: 'm1', author: 'ann', authorName: 'Ann', text: 'I am Ann', time: now }, /author must be the user/],
      [{ id: 'taken-id', author: 'bob', text: 'dup', time: now }, /taken/],
      [{ id: 'm2', author: 'bob', text: 'far future', time: 8.64e15 }, /future/],
      [{ id: 'm3', author: 'bob', text: 'huge', time: 1e300 }, /future/],
      [{ id: 'm4', author: 'bob', text: 'ancient', time: -1e15 }, /offline window/],
      [{ id: 'm5', author: 'bob', text: 'x'.repeat(1_000_000), time: now }, /text/],
      [{ id: 'm6', author: 'bob', authorName: 'n'.repeat(100_000), text: 'hi', time: now }, /name/],
      [{ id: 'm7', author: 'bob', text: 'hi', time: now, html: '<b>' }, /only id/],
      [{ id: 'm8', author: 'bob', text: '   ', time: now }, /text/],
    ]
    let client = 10
    for (const [message, reason] of cases) {
      const peer = new Peer(client++)
      messagesOf(peer.doc).push([message])
      expectRefused(judged(gate, peer.take(), BOB), reason)
    }
    const twice = new Peer(client++)
    messagesOf(twice.doc).push([{ id: 'same', author: 'bob', text: 'a', time: now }, { id: 'same', author: 'bob', text: 'b', time: now }])
    expectRefused(judged(gate, twice.take(), BOB), /taken/)
    const twiceApart = new Peer(client++)
    messagesOf(twiceApart.doc).push([{ id: 'apart', author: 'bob', text: 'a', time: now }])
    messagesOf(twiceApart.doc).insert(0, [{ id: 'apart', author: 'bob', text: 'b', time: now }])
    expectRefused(judged(gate, twiceApart.take(), BOB), /taken/)
    const other = new Peer(client++)
    other.doc.getMap('evil').set('x', 1)
    expectRefused(judged(gate, other.take(), BOB), /not part of the chat/)
  })

  it('let authors and the owner delete messages, and nobody else', () => {
    const gate = chatGate(now)
    const ann = new Peer(1)
    postMessage(ann.doc, { author: 'ann', authorName: 'Ann', text: 'one', time: now })
    postMessage(ann.doc, { author: 'ann', authorName: 'Ann', text: 'two', time: now })
    submit(gate, ann.take(), ANN)
    const bob = new Peer(2)
    bob.apply(Y.encodeStateAsUpdate(ann.doc))
    messagesOf(bob.doc).delete(0, 1)
    expectRefused(judged(gate, bob.take(), BOB), /author or the group owner/)
    const olga = new Peer(3)
    olga.apply(Y.encodeStateAsUpdate(ann.doc))
    messagesOf(olga.doc).delete(0, 1)
    expect(submit(gate, olga.take(), OWNER).kind).toBe('accept')
    messagesOf(ann.doc).delete(messagesOf(ann.doc).length - 1, 1)
    expect(submit(gate, ann.take(), ANN).kind).toBe('accept')
  })

  it('keep the message first in log order under an id two nodes took at once, whatever order each node learns the places in', () => {
    const message = (author: string) => ({ id: 'raced', author, text: `mine, says ${author}`, time: now })
    const ann = new Peer(7)
    messagesOf(ann.doc).push([message('ann')])
    const annUpdate = ann.take()
    const bob = new Peer(3) // a smaller item id: under an item-id rule, his copy would win
    messagesOf(bob.doc).push([{ id: 'first', author: 'bob', text: 'hi', time: now }, message('bob')])
    const bobUpdate = bob.take()
    const bobsDuplicate = { client: 3, clock: 1, length: 1, writer: 'bob' }
    const [annAt, bobAt] = ['5-0', '6-0'] // Ann's entry is first in the log
    const logged = (gate: ContentGate, update: Uint8Array, at: string) => gate.logged(updateInfo(update).clients, at)
    // Node 1 took Ann's; its append commits, then it reads Bob's entry.
    const node1 = chatGate(now)
    expect(submit(node1, annUpdate, ANN).kind).toBe('accept')
    logged(node1, annUpdate, annAt)
    node1.trust([{ writer: 'bob', update: bobUpdate, at: bobAt }])
    expect(node1.takeDuplicates()).toEqual([bobsDuplicate])
    expect(node1.takeDuplicates()).toEqual([]) // taken once
    // Node 2 took Bob's and reads Ann's entry before its own append commits: nothing is decided
    // until then. Node 3's append commits first, then it reads Ann's (earlier) entry.
    const node2 = chatGate(now)
    expect(submit(node2, bobUpdate, BOB).kind).toBe('accept')
    node2.trust([{ writer: 'ann', update: annUpdate, at: annAt }])
    expect(node2.takeDuplicates()).toEqual([])
    logged(node2, bobUpdate, bobAt)
    expect(node2.takeDuplicates()).toEqual([bobsDuplicate])
    const node3 = chatGate(now)
    expect(submit(node3, bobUpdate, BOB).kind).toBe('accept')
    logged(node3, bobUpdate, bobAt)
    node3.trust([{ writer: 'ann', update: annUpdate, at: annAt }])
    expect(node3.takeDuplicates()).toEqual([bobsDuplicate])
    // A gate rebuilt from the log finds it again while it is not deleted, and not once it is.
    const rebuilt = chatGate(now)
    rebuilt.trust([{ writer: 'bob', update: bobUpdate, at: bobAt }, { writer: 'ann', update: annUpdate, at: annAt }])
    expect(rebuilt.takeDuplicates()).toEqual([bobsDuplicate])
    const deleted = chatGate(now)
    deleted.trust([{ writer: 'ann', update: annUpdate, at: annAt }, { writer: 'bob', update: bobUpdate, at: bobAt }, { writer: 'bob', update: deleteOnly(3, 1, 1), at: '7-0' }])
    expect(deleted.takeDuplicates()).toEqual([])
    // Content in the snapshot is before everything after it; two messages there under one id
    // (their order lost) are both kept.
    const snapshot = chatGate(now)
    snapshot.trustSnapshot([annUpdate])
    snapshot.trust([{ writer: 'bob', update: bobUpdate, at: bobAt }])
    expect(snapshot.takeDuplicates()).toEqual([bobsDuplicate])
    const folded = chatGate(now)
    folded.trustSnapshot([annUpdate, bobUpdate])
    expect(folded.takeDuplicates()).toEqual([])
    // …and the id stays taken for new messages.
    const late = new Peer(9)
    messagesOf(late.doc).push([message('bob')])
    expectRefused(judged(deleted, late.take(), BOB), /taken/)
  })

  it('carries undecided claims through a gate built in parts (as the doc worker passes it)', () => {
    const ann = new Peer(7)
    messagesOf(ann.doc).push([{ id: 'raced', author: 'ann', text: 'hi', time: now }])
    const annUpdate = ann.take()
    const bob = new Peer(3)
    messagesOf(bob.doc).push([{ id: 'raced', author: 'bob', text: 'mine', time: now }])
    const bobUpdate = bob.take()
    const built = chatGate(now)
    built.trust([{ writer: 'ann', update: annUpdate, at: '5-0' }, { writer: 'bob', update: bobUpdate }]) // bob's on its way to the log
    const restored = chatGate(now)
    for (const part of built.toParts(1)) restored.restore(part)
    expect(restored.takeDuplicates()).toEqual([])
    restored.logged(updateInfo(bobUpdate).clients, '6-0')
    expect(restored.takeDuplicates()).toEqual([{ client: 3, clock: 0, length: 1, writer: 'bob' }])
  })
})

/** The structs of one client of `doc` (its state as an update, minus every other client). */
function onlyClient(doc: Y.Doc, client: number): Uint8Array {
  const others = Y.decodeStateVector(Y.encodeStateVector(doc))
  others.delete(client)
  return Y.encodeStateAsUpdate(doc, Y.encodeStateVector(others))
}

/** An update holding one garbage range of `client`: [clock, clock + length). */
function gcRange(client: number, clock: number, length: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1) // one client
  encoding.writeVarUint(encoder, 1) // one struct
  encoding.writeVarUint(encoder, client)
  encoding.writeVarUint(encoder, clock)
  encoding.writeUint8(encoder, 0) // GC
  encoding.writeVarUint(encoder, length)
  encoding.writeVarUint(encoder, 0) // empty delete set
  return encoding.toUint8Array(encoder)
}

/** An update with no structs and one delete range. */
function deleteOnly(client: number, clock: number, length: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, client)
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, clock)
  encoding.writeVarUint(encoder, length)
  return encoding.toUint8Array(encoder)
}
