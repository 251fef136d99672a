/**
 * Gaps a hostile tester found in the content rules:
 *   - values whose prototype is not a plain object's (the "exactly these fields" bypass): lib0's
 *     readAny builds an object by assigning each key, so an encoded `__proto__` key sets the
 *     object's prototype; Object.keys sees nothing while every JS reader sees the inherited
 *     fields. The updates are made by a real Yjs document: JSON.parse gives an own `__proto__`
 *     key, which Yjs encodes like any other;
 *   - chat lengths counted in UTF-16 units while the REST schema counts characters.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { CHAT_LIMITS, messagesOf } from '../../shared/chat.ts'
import { addStroke, strokesOf } from '../../shared/canvas.ts'
import { CanvasRules } from '../../server/collab/content/canvas-rules.ts'
import { ChatRules } from '../../server/collab/content/chat-rules.ts'
import { ContentGate, type Author, type Verdict } from '../../server/collab/content/content-gate.ts'

const BOB: Author = { userId: 'bob', role: 'editor' }
const DAY = 24 * 60 * 60 * 1000
const now = Date.UTC(2026, 10, 29, 12)

function chatGate(): ContentGate {
  return new ContentGate(new ChatRules({ offlineWindowMs: 7 * DAY, maxFutureMs: 120_000 }), { claimedBy: () => undefined, now: () => now })
}

function canvasGate(): ContentGate {
  return new ContentGate(new CanvasRules(), { claimedBy: () => undefined })
}

/**
 * One Yjs client's edit on a fresh document, as the update it sends. Encoded from the document,
 * not merged: Y.mergeUpdates decodes and re-encodes values, which drops a prototype's fields.
 */
function edit(clientId: number, change: (doc: Y.Doc) => void): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = clientId
  change(doc)
  return Y.encodeStateAsUpdate(doc)
}

/** The verdict once judged (an update under a client id nobody holds is held first, then judged). */
function judged(gate: ContentGate, update: Uint8Array, author: Author): Verdict {
  const first = gate.check(update, author)
  return first.kind === 'accept' ? first : gate.check(update, author, true)
}

function expectRefused(verdict: Verdict, reason: RegExp): void {
  expect(verdict.kind).toBe('refuse')
  if (verdict.kind === 'refuse') expect(verdict.reason).toMatch(reason)
}

/** An object with an own `__proto__` key (an object literal would set the prototype instead). */
function withProto(proto: Record<string, unknown>, own: Record<string, unknown> = {}): Record<string, unknown> {
  return Object.assign(JSON.parse(`{"__proto__": ${JSON.stringify(proto)}}`) as Record<string, unknown>, own)
}

describe('chat rules refuse a message that hides its fields behind __proto__', () => {
  const fields = { id: 'sneaky-1', author: 'bob', authorName: 'Bob', text: 'hi', time: now }

  it('as its only key (Object.keys sees no field)', () => {
    const message = withProto({ ...fields, evil: '<img src=x onerror=alert(1)>' })
    expect(Object.keys(message)).toEqual(['__proto__'])
    expectRefused(judged(chatGate(), edit(10, (doc) => messagesOf(doc).push([message])), BOB), /plain object/)
  })

  it('next to the documented fields', () => {
    const message = withProto({ evil: '<img src=x onerror=alert(1)>' }, fields)
    expectRefused(judged(chatGate(), edit(11, (doc) => messagesOf(doc).push([message])), BOB), /plain object/)
  })

  it('while the same message without it is accepted', () => {
    expect(judged(chatGate(), edit(12, (doc) => messagesOf(doc).push([fields])), BOB).kind).toBe('accept')
  })
})

describe('canvas rules refuse __proto__ in stroke values and keys', () => {
  it('a stroke field holding an object with a prototype', () => {
    const update = edit(20, (doc) => {
      const stroke = new Y.Map<unknown>()
      strokesOf(doc).push([stroke])
      stroke.set('author', withProto({ toString: 'bob' }))
    })
    expectRefused(judged(canvasGate(), update, BOB), /plain values/)
  })

  it('a stroke field named after an Object.prototype member, without throwing', () => {
    for (const key of ['__proto__', 'constructor', 'hasOwnProperty', 'isPrototypeOf', 'valueOf']) {
      const update = edit(21, (doc) => {
        const stroke = addStroke(doc, { author: 'bob', color: '#112233', width: 3, tool: 'pen', points: [[1, 2]] })
        stroke.set(key, 'x')
      })
      expectRefused(judged(canvasGate(), update, BOB), /unknown stroke field/)
    }
  })
})


describe('chat rules count text and names in characters, as the REST schema does', () => {
  const EMOJI = '😀' // one character, two UTF-16 units

  it('accept a text and a name at the limit that take more UTF-16 units', () => {
    const message = { id: 'emoji-1', author: 'bob', authorName: EMOJI.repeat(CHAT_LIMITS.maxNameLength), text: EMOJI.repeat(CHAT_LIMITS.maxTextLength), time: now }
    expect(judged(chatGate(), edit(30, (doc) => messagesOf(doc).push([message])), BOB).kind).toBe('accept')
  })

  it('refuse a text or a name one character past it', () => {
    const text = { id: 'emoji-2', author: 'bob', text: 'a'.repeat(CHAT_LIMITS.maxTextLength) + EMOJI, time: now }
    expectRefused(judged(chatGate(), edit(31, (doc) => messagesOf(doc).push([text])), BOB), /text/)
    const name = { id: 'emoji-3', author: 'bob', authorName: EMOJI.repeat(CHAT_LIMITS.maxNameLength + 1), text: 'hi', time: now }
    expectRefused(judged(chatGate(), edit(32, (doc) => messagesOf(doc).push([name])), BOB), /name/)
  })
})

// Found from outside: a member drew a stroke under another live stroke's id, as a decoy, before
// erasing the original; history matches strokes by id, so the erasure hid behind the decoy.
describe('canvas rules keep live stroke ids unique', () => {
  const ANN: Author = { userId: 'ann', role: 'editor' }
  const pen = (author: string, id: string) => ({ author, id, color: '#102030', width: 2, tool: 'pen' as const, points: [[1, 1]] as Array<[number, number]> })

  /** Ann's stroke "P" taken in by the gate; her document to build on. */
  function withAnnsStroke(): { gate: ContentGate; ann: Y.Doc; bob: Y.Doc } {
    const gate = canvasGate()
    const ann = new Y.Doc()
    ann.clientID = 11
    addStroke(ann, pen('ann', 'P'))
    gate.trust([{ writer: 'ann', update: Y.encodeStateAsUpdate(ann) }])
    const bob = new Y.Doc()
    bob.clientID = 22
    Y.applyUpdate(bob, Y.encodeStateAsUpdate(ann))
    return { gate, ann, bob }
  }

  function bobs(bob: Y.Doc, change: () => void): Uint8Array {
    const before = Y.encodeStateVector(bob)
    change()
    return Y.encodeStateAsUpdate(bob, before)
  }

  it('refuses a stroke under the id of a live stroke, and one update taking an id twice', () => {
    const { gate, ann, bob } = withAnnsStroke()
    expectRefused(judged(gate, bobs(bob, () => addStroke(bob, pen('bob', 'P'))), BOB), /stroke id P is taken/)
    const fresh = new Y.Doc()
    fresh.clientID = 33
    Y.applyUpdate(fresh, Y.encodeStateAsUpdate(ann))
    const twice = bobs(fresh, () => fresh.transact(() => { addStroke(fresh, pen('bob', 'Q')); addStroke(fresh, pen('bob', 'Q')) }))
    expectRefused(judged(gate, twice, BOB), /stroke id Q is taken/)
  })

  it('frees an erased stroke\'s id (a restore brings strokes back under their ids), and takes a stroke resent whole', () => {
    const { gate, ann, bob } = withAnnsStroke()
    const erase = bobs(bob, () => strokesOf(bob).delete(0, 1))
    const erased = judged(gate, erase, BOB)
    expect(erased.kind).toBe('accept')
    if (erased.kind === 'accept') gate.accept(erased.update, BOB)
    expect(judged(gate, bobs(bob, () => addStroke(bob, pen('bob', 'P'))), BOB).kind).toBe('accept')
    // Ann's own stroke sent again (a resend after a reconnect) is the same stroke, not a second.
    const again = canvasGate()
    again.trust([{ writer: 'ann', update: Y.encodeStateAsUpdate(ann) }])
    expect(again.check(Y.encodeStateAsUpdate(ann), ANN).kind).not.toBe('refuse')
  })

  it('keeps what it knows of ids across a gate built in parts (another thread)', () => {
    const { gate, bob } = withAnnsStroke()
    const rebuilt = canvasGate()
    for (const part of gate.toParts(1)) rebuilt.restore(part)
    expectRefused(judged(rebuilt, bobs(bob, () => addStroke(bob, pen('bob', 'P'))), BOB), /stroke id P is taken/)
  })
})
