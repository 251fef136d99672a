/**
 * Attack 2 (issue 13): members forging authorship and content. An editor (Mallory, on a raw
 * socket, with a real Yjs document of her own) writes chat messages as someone else, deletes
 * others' messages, draws strokes attributed to others, appends to or recolours others' strokes,
 * writes absurd times, huge texts and names, duplicate ids (also racing another user from
 * another socket), arbitrary 2 MB root types and nested types. Each is refused with
 * permission-denied and 4422 and leaves no trace; honest writes (erasing anyone's stroke, the
 * owner deleting a message, a message written offline 6 days ago) pass; the victims converge and
 * keep working, and REST (messages with the server's names, canvas.svg) agrees with them.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, strokesOf } from '../../shared/canvas.ts'
import { messagesOf, postMessage, readAllMessages } from '../../shared/chat.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import type { TestUser } from '../helpers/api.ts'
import type { Client } from '../helpers/clients.ts'
import { docJson, sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import {
  captureUpdate, deniedReasons, drawnStrokes, durableDoc, healthy, logEntries, restMessages, restSvg, svgStrokes, useAttackServer,
} from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useAttackServer()
const DAY = 24 * 60 * 60 * 1000

const pen = (author: string, at: number) => ({ author, color: '#803020', width: 4, tool: 'pen' as const, points: [[at, at], [at + 3, at + 1]] as Array<[number, number]> })

let nextClient = 0x5a000000

/** A real Yjs document of the attacker's, holding what `victim` holds, under a fresh client id. */
function forgerDoc(victim: Client): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = nextClient++
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(victim.doc))
  return doc
}

/** Sends `update` from a fresh socket of `user`; resolves with the close code and denial reasons. */
async function send(room: string, user: TestUser, update: Uint8Array): Promise<{ code: number; reasons: string }> {
  const socket = await ctx.hostile(room, user)
  socket.send(syncUpdateFrame(update))
  expect(await healthy(ctx.server.url)).toBe(true)
  const { code } = await socket.closed
  return { code, reasons: deniedReasons(socket).join(' | ') }
}

async function expectRefused(room: string, user: TestUser, update: Uint8Array, reason: RegExp): Promise<void> {
  const { code, reasons } = await send(room, user, update)
  expect(code).toBe(CloseCode.updateRefused)
  expect(reasons).toMatch(reason)
}

/** No update written by `user` is in the room's log. */
async function nothingLoggedBy(room: string, user: TestUser): Promise<void> {
  const writers = (await logEntries(ctx.server, room)).flatMap((e) => e.updates.map((u) => u.writer))
  expect(writers).not.toContain(user.id)
}

interface Chat {
  groupId: string
  room: string
  alice: Client
  bob: Client
}

async function chatScene(): Promise<Chat> {
  const group = await ctx.group()
  const room = group.rooms.chat
  const alice = await ctx.connect(room, ctx.users.alice)
  const bob = await ctx.connect(room, ctx.users.bob)
  postMessage(alice.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: 'hello from alice', id: 'alice-msg-1' })
  postMessage(bob.doc, { author: ctx.users.bob.id, authorName: 'Bob', text: 'hello from bob', id: 'bob-msg-1' })
  await waitFor(() => sameContent(alice.doc, bob.doc) && readAllMessages(alice.doc).length === 2, 10_000, 'chat in sync')
  return { groupId: group.id, room, alice, bob }
}

/** The chat keeps working, and the server's durable copy and REST agree with the clients. */
async function chatConverges(chat: Chat): Promise<void> {
  postMessage(chat.alice.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: 'still here' })
  postMessage(chat.bob.doc, { author: ctx.users.bob.id, authorName: 'Bob', text: 'me too' })
  const texts = () => readAllMessages(chat.alice.doc).map((m) => m.text)
  await waitFor(() => sameContent(chat.alice.doc, chat.bob.doc) && texts().includes('still here') && texts().includes('me too'), 10_000, 'alice and bob converge')
  const names = new Map(Object.values(ctx.users).map((u: TestUser) => [u.id, u.name]))
  const expected = readAllMessages(chat.alice.doc).map((m) => ({ ...m, authorName: names.get(m.author) ?? '' }))
  await waitFor(async () => JSON.stringify(await restMessages(ctx.server.url, chat.groupId, ctx.users.vera.token)) === JSON.stringify(expected), 10_000, 'REST serves the clients\' messages with the server\'s names')
  expect(docJson(await durableDoc(ctx.server, chat.room))).toEqual(docJson(chat.alice.doc))
  expect(chat.alice.closeEvents).toEqual([])
  expect(chat.bob.closeEvents).toEqual([])
}

describe('forged chat', () => {
  it('refuses messages written as another member, and every malformed message', async () => {
    const chat = await chatScene()
    const now = Date.now()
    const forged: Array<[Record<string, unknown>, RegExp]> = [
      [{ id: 'm-as-alice', author: ctx.users.alice.id, authorName: 'Alice', text: 'I resign. — Alice', time: now }, /author must be the user/],
      [{ id: 'm-far-future', author: ctx.users.mallory.id, text: 'from the future', time: 8.64e15 }, /future/],
      [{ id: 'm-huge-time', author: ctx.users.mallory.id, text: 'huge', time: 1e300 }, /future/],
      [{ id: 'm-ancient', author: ctx.users.mallory.id, text: 'ancient', time: -1e15 }, /offline window/],
      [{ id: 'm-8-days', author: ctx.users.mallory.id, text: 'too old', time: now - 8 * DAY }, /offline window/],
      [{ id: 'm-nan', author: ctx.users.mallory.id, text: 'no time', time: 'yesterday' }, /milliseconds/],
      [{ id: 'm-huge-text', author: ctx.users.mallory.id, authorName: 'n'.repeat(100_000), text: 'x'.repeat(1_000_000), time: now }, /name|text/],
      [{ id: 'm-long-text', author: ctx.users.mallory.id, text: 'x'.repeat(4_001), time: now }, /text/],
      [{ id: 'm-long-name', author: ctx.users.mallory.id, authorName: 'n'.repeat(81), text: 'hi', time: now }, /name/],
      [{ id: 'alice-msg-1', author: ctx.users.mallory.id, text: 'same id as alice\'s', time: now }, /taken/],
      [{ id: 'm-extra', author: ctx.users.mallory.id, text: 'hi', time: now, html: '<script>' }, /only id/],
      [{ id: '../../etc', author: ctx.users.mallory.id, text: 'hi', time: now }, /id/],
    ]
    for (const [message, reason] of forged) {
      const doc = forgerDoc(chat.alice)
      await expectRefused(chat.room, ctx.users.mallory, captureUpdate(doc, () => messagesOf(doc).push([message])), reason)
    }
    // the same id twice in one update
    const twice = forgerDoc(chat.alice)
    const same = { author: ctx.users.mallory.id, text: 'twice', time: now, id: 'm-twice' }
    await expectRefused(chat.room, ctx.users.mallory, captureUpdate(twice, () => messagesOf(twice).push([same, same])), /taken/)
    await nothingLoggedBy(chat.room, ctx.users.mallory)
    await chatConverges(chat)
  })

  it('refuses arbitrary root types (2 MB) and nested types in the chat', async () => {
    const chat = await chatScene()
    const cases: Array<[(doc: Y.Doc) => void, RegExp]> = [
      [(doc) => doc.getMap('evil').set('blob', 'x'.repeat(2 * 1024 * 1024)), /not part of the chat/],
      [(doc) => doc.getText('messages-ish').insert(0, 'y'.repeat(2 * 1024 * 1024)), /not part of the chat/],
      [(doc) => { const map = new Y.Map(); messagesOf(doc).push([map]); map.set('text', 'a map, not a message') }, /plain object/],
      [(doc) => messagesOf(doc).push([new Y.Text('a text type')]), /plain object/],
      [(doc) => doc.getMap('messages').set('x', { id: 'keyed', author: ctx.users.mallory.id, text: 'hi', time: Date.now() }), /not part of the chat/],
    ]
    for (const [edit, reason] of cases) {
      const doc = forgerDoc(chat.alice)
      await expectRefused(chat.room, ctx.users.mallory, captureUpdate(doc, () => edit(doc)), reason)
    }
    await nothingLoggedBy(chat.room, ctx.users.mallory)
    await chatConverges(chat)
  })

  it('refuses deleting another member\'s message; its author and the owner may delete it', async () => {
    const chat = await chatScene()
    const doc = forgerDoc(chat.alice)
    await expectRefused(chat.room, ctx.users.mallory, captureUpdate(doc, () => messagesOf(doc).delete(0, 1)), /author or the group owner/)
    const both = forgerDoc(chat.alice)
    await expectRefused(chat.room, ctx.users.mallory, captureUpdate(both, () => messagesOf(both).delete(0, 2)), /author or the group owner/)
    // "editing" a message is deleting it and writing another: refused too
    const editor = forgerDoc(chat.alice)
    const edit = captureUpdate(editor, () => {
      messagesOf(editor).delete(0, 1)
      messagesOf(editor).insert(0, [{ id: 'alice-msg-1b', author: ctx.users.mallory.id, text: 'alice said something else', time: Date.now() }])
    })
    await expectRefused(chat.room, ctx.users.mallory, edit, /author or the group owner/)
    await nothingLoggedBy(chat.room, ctx.users.mallory)

    const owner = await ctx.connect(chat.room, ctx.users.owner)
    const indexOf = (doc: Y.Doc, id: string) => readAllMessages(doc).findIndex((m) => m.id === id)
    messagesOf(owner.doc).delete(indexOf(owner.doc, 'bob-msg-1'), 1) // bob's message, by the owner
    messagesOf(chat.alice.doc).delete(indexOf(chat.alice.doc, 'alice-msg-1'), 1) // alice's own
    await waitFor(() => sameContent(chat.alice.doc, chat.bob.doc) && readAllMessages(chat.bob.doc).length === 0, 10_000, 'both deletions accepted')
    expect(owner.closeEvents).toEqual([])
    await chatConverges(chat)
  })

  it('takes exactly one of two messages with one id sent at once by two users on two sockets', async () => {
    const chat = await chatScene()
    const malloryDoc = forgerDoc(chat.alice)
    const bobDoc = forgerDoc(chat.alice)
    const time = Date.now()
    const fromMallory = captureUpdate(malloryDoc, () => messagesOf(malloryDoc).push([{ id: 'race-id', author: ctx.users.mallory.id, text: 'mine', time }]))
    const fromBob = captureUpdate(bobDoc, () => messagesOf(bobDoc).push([{ id: 'race-id', author: ctx.users.bob.id, text: 'no, mine', time }]))
    const [mallory, bob] = await Promise.all([ctx.hostile(chat.room, ctx.users.mallory), ctx.hostile(chat.room, ctx.users.bob)])
    mallory.send(syncUpdateFrame(fromMallory))
    bob.send(syncUpdateFrame(fromBob))
    const first = await Promise.race([mallory.closed.then((c) => ['mallory', c.code] as const), bob.closed.then((c) => ['bob', c.code] as const)])
    expect(first[1]).toBe(CloseCode.updateRefused)
    await waitFor(() => readAllMessages(chat.alice.doc).some((m) => m.id === 'race-id'), 10_000, 'the winner arrives')
    expect(readAllMessages(chat.alice.doc).filter((m) => m.id === 'race-id')).toHaveLength(1)
    await chatConverges(chat)
    expect(readAllMessages(chat.bob.doc).filter((m) => m.id === 'race-id')).toHaveLength(1)
  })

  it('serves the server\'s name for an author, never the name a message carries', async () => {
    const chat = await chatScene()
    postMessage(chat.alice.doc, { author: ctx.users.alice.id, authorName: 'The Group Owner', text: 'official announcement' })
    await waitFor(() => readAllMessages(chat.bob.doc).length === 3, 10_000, 'her message arrives')
    const served = await restMessages(ctx.server.url, chat.groupId, ctx.users.bob.token)
    expect(served.find((m) => m.text === 'official announcement')?.authorName).toBe('Alice')
    // REST posting takes the author from the token, whatever the body says
    const forged = await fetch(`${ctx.server.url}/groups/${chat.groupId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.users.mallory.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'as alice', author: ctx.users.alice.id, authorName: 'Alice' }),
    })
    expect(forged.status).toBe(400)
    const huge = await fetch(`${ctx.server.url}/groups/${chat.groupId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.users.mallory.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(1_000_000) }),
    })
    expect(huge.status).toBe(413)
    await chatConverges(chat)
  })

  it('accepts messages written offline 6 days ago (within the 7-day window)', async () => {
    const chat = await chatScene()
    chat.alice.provider.disconnect()
    const sixDaysAgo = Date.now() - 6 * DAY
    postMessage(chat.alice.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: 'written on a long trip', time: sixDaysAgo })
    postMessage(chat.alice.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: 'and another', time: sixDaysAgo + 60_000 })
    chat.alice.provider.connect()
    await waitFor(() => readAllMessages(chat.bob.doc).length === 4, 10_000, 'the offline messages arrive')
    const served = await restMessages(ctx.server.url, chat.groupId, ctx.users.vera.token)
    expect(served.find((m) => m.text === 'written on a long trip')?.time).toBe(sixDaysAgo)
    await chatConverges(chat)
  })
})

interface Canvas {
  groupId: string
  room: string
  alice: Client
  bob: Client
}

async function canvasScene(): Promise<Canvas> {
  const group = await ctx.group()
  const room = group.rooms.canvas
  const alice = await ctx.connect(room, ctx.users.alice)
  const bob = await ctx.connect(room, ctx.users.bob)
  appendPoints(addStroke(alice.doc, pen(ctx.users.alice.id, 10)), [[12, 12]])
  addStroke(bob.doc, pen(ctx.users.bob.id, 50))
  await waitFor(() => sameContent(alice.doc, bob.doc) && strokesOf(alice.doc).length === 2, 10_000, 'canvas in sync')
  return { groupId: group.id, room, alice, bob }
}

async function canvasConverges(canvas: Canvas): Promise<void> {
  const mine = addStroke(canvas.alice.doc, pen(ctx.users.alice.id, 70))
  appendPoints(mine, [[80, 80]])
  addStroke(canvas.bob.doc, pen(ctx.users.bob.id, 90))
  await waitFor(() => sameContent(canvas.alice.doc, canvas.bob.doc), 10_000, 'alice and bob converge')
  const strokes = drawnStrokes(canvas.alice.doc)
  await waitFor(async () => JSON.stringify(svgStrokes(await restSvg(ctx.server.url, canvas.groupId, ctx.users.vera.token))) === JSON.stringify(strokes), 10_000, 'canvas.svg agrees')
  expect(docJson(await durableDoc(ctx.server, canvas.room))).toEqual(docJson(canvas.alice.doc))
  expect(canvas.alice.closeEvents).toEqual([])
  expect(canvas.bob.closeEvents).toEqual([])
}

describe('forged canvas', () => {
  it('refuses strokes attributed to others and changes to others\' strokes', async () => {
    const canvas = await canvasScene()
    const hers = (doc: Y.Doc) => strokesOf(doc).get(0)
    const cases: Array<[(doc: Y.Doc) => void, RegExp]> = [
      [(doc) => addStroke(doc, pen(ctx.users.alice.id, 5)), /author must be the user/],
      [(doc) => appendPoints(hers(doc), [[666, 666]]), /only a stroke's author/],
      [(doc) => hers(doc).set('color', '#ff0000'), /only a stroke's author/],
      [(doc) => hers(doc).set('author', ctx.users.mallory.id), /only a stroke's author/],
      [(doc) => hers(doc).set('graffiti', 'x'), /only a stroke's author/],
      [(doc) => (hers(doc).get('points') as Y.Array<number>).delete(0, 2), /erase it whole/],
      [(doc) => (hers(doc).get('points') as Y.Array<number>).insert(0, [1, 1]), /only a stroke's author/],
      [(doc) => { const own = addStroke(doc, pen(ctx.users.mallory.id, 5)); own.set('author', ctx.users.alice.id) }, /author must be the user/],
    ]
    for (const [edit, reason] of cases) {
      const doc = forgerDoc(canvas.alice)
      await expectRefused(canvas.room, ctx.users.mallory, captureUpdate(doc, () => edit(doc)), reason)
    }
    await nothingLoggedBy(canvas.room, ctx.users.mallory)
    await canvasConverges(canvas)
  })

  it('refuses arbitrary root types (2 MB), nested types and out-of-bounds values in strokes', async () => {
    const canvas = await canvasScene()
    const own = (doc: Y.Doc, set: (stroke: Y.Map<unknown>) => void) => {
      const stroke = new Y.Map<unknown>()
      strokesOf(doc).push([stroke])
      stroke.set('id', 'stroke-x')
      stroke.set('author', ctx.users.mallory.id)
      set(stroke)
    }
    const cases: Array<[(doc: Y.Doc) => void, RegExp]> = [
      [(doc) => doc.getMap('junk').set('blob', 'x'.repeat(2 * 1024 * 1024)), /not part of the canvas/],
      [(doc) => doc.getArray('strokes2').push([new Uint8Array(2 * 1024 * 1024)]), /not part of the canvas/],
      [(doc) => doc.getMap('strokes').set('k', new Y.Map()), /not part of the canvas/],
      [(doc) => strokesOf(doc).push([new Y.Array() as unknown as Y.Map<unknown>]), /must be a map/],
      [(doc) => strokesOf(doc).push([new Y.XmlText() as unknown as Y.Map<unknown>]), /must be a map/],
      [(doc) => own(doc, (s) => s.set('color', new Y.Map())), /one value|colour/],
      [(doc) => own(doc, (s) => s.set('id', 'i'.repeat(2 * 1024 * 1024))), /short string/],
      [(doc) => own(doc, (s) => s.set('extra', new Y.Text('x'.repeat(1024)))), /unknown stroke field/],
      [(doc) => own(doc, (s) => { const p = new Y.Array(); s.set('points', p); p.push([new Y.Map()]) }), /coordinates/],
      [(doc) => own(doc, (s) => { const p = new Y.Array(); s.set('points', p); p.push([[1, 2]]) }), /coordinates/],
      [(doc) => own(doc, (s) => { const p = new Y.Array(); s.set('points', p); p.push([1e300, 1]) }), /coordinates/],
      [(doc) => own(doc, (s) => { const p = new Y.Array(); s.set('points', p); p.push(['1', '2']) }), /coordinates/],
      [(doc) => own(doc, (s) => s.set('points', new Y.Text('1,2'))), /points must be an array/],
      [(doc) => own(doc, (s) => s.set('width', Number.NaN)), /width/],
      [(doc) => own(doc, (s) => s.set('tool', 'laser')), /tool/],
    ]
    for (const [edit, reason] of cases) {
      const doc = forgerDoc(canvas.alice)
      await expectRefused(canvas.room, ctx.users.mallory, captureUpdate(doc, () => edit(doc)), reason)
    }
    await nothingLoggedBy(canvas.room, ctx.users.mallory)
    await canvasConverges(canvas)
  })

  it('lets any editor erase a stroke whole, and a viewer nothing (permission-denied, socket kept)', async () => {
    const canvas = await canvasScene()
    const viewerDoc = forgerDoc(canvas.alice)
    const vera = await ctx.hostile(canvas.room, ctx.users.vera)
    vera.send(syncUpdateFrame(captureUpdate(viewerDoc, () => eraseStroke(viewerDoc, strokesOf(viewerDoc).get(0).get('id') as string))))
    await waitFor(() => deniedReasons(vera).length > 0, 10_000, 'the viewer is told no')
    expect(vera.ws.readyState).toBe(WebSocket.OPEN)

    const doc = forgerDoc(canvas.alice)
    const { code } = await Promise.race([
      send(canvas.room, ctx.users.mallory, captureUpdate(doc, () => eraseStroke(doc, strokesOf(doc).get(0).get('id') as string))),
      waitFor(() => strokesOf(canvas.alice.doc).length === 1, 10_000, 'the erase arrives').then(() => ({ code: 0, reasons: '' })),
    ])
    expect(code).not.toBe(CloseCode.updateRefused)
    await waitFor(() => strokesOf(canvas.bob.doc).length === 1, 10_000, 'erased everywhere')
    await canvasConverges(canvas)
  })
})
