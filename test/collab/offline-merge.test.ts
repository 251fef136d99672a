import { expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { connectSynced } from '../helpers/clients.ts'
import { docJson, sameContent, roomDoc } from '../helpers/docs.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useFreshServer()

it('merges edits made on both sides while one client was offline', async () => {
  const CANVAS = ctx.fx.canvas
  const [alice, bob] = await ctx.pair(CANVAS)
  addStroke(alice.doc, { author: ctx.fx.owner.id, color: '#111111', width: 2, tool: 'pen', points: [[1, 1]] })
  await waitFor(() => readStrokes(bob.doc).length === 1)

  alice.provider.disconnect()
  await waitFor(() => !alice.provider.wsconnected)
  addStroke(alice.doc, { author: ctx.fx.owner.id, color: '#222222', width: 2, tool: 'pen', points: [[2, 2]] })
  addStroke(alice.doc, { author: ctx.fx.owner.id, color: '#333333', width: 2, tool: 'pen', points: [[3, 3]] })
  addStroke(bob.doc, { author: ctx.fx.owner.id, color: '#444444', width: 2, tool: 'pen', points: [[4, 4]] })
  await waitFor(() => readStrokes(roomDoc(ctx.server.app.collab.registry.get(CANVAS)!)).length === 2)
  expect(readStrokes(bob.doc)).toHaveLength(2)

  alice.provider.connect()
  await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'convergence after reconnect')
  expect(readStrokes(alice.doc).map((s) => s.color).sort()).toEqual(['#111111', '#222222', '#333333', '#444444'])

  const serverDoc = roomDoc(ctx.server.app.collab.registry.get(CANVAS)!)
  await waitFor(() => sameContent(serverDoc, alice.doc), 5_000, 'server holds both sides')
})

it('merges chat messages written offline into the shared history', async () => {
  const CHAT = ctx.fx.chat
  const [alice, bob] = await ctx.pair(CHAT)
  alice.provider.disconnect()
  await waitFor(() => !alice.provider.wsconnected)
  postMessage(alice.doc, { author: ctx.fx.owner.id, authorName: 'Alice', text: 'written on the train' })
  postMessage(bob.doc, { author: ctx.fx.owner.id, authorName: 'Bob', text: 'anyone there?' })
  await waitFor(() => readAllMessages(roomDoc(ctx.server.app.collab.registry.get(CHAT)!)).length === 1)

  alice.provider.connect()
  await waitFor(() => sameContent(alice.doc, bob.doc))
  const carol = await connectSynced(ctx.server.collabUrl, CHAT, { token: ctx.fx.token })
  ctx.clients.push(carol)
  expect(docJson(carol.doc)).toEqual(docJson(alice.doc))
  expect(readAllMessages(carol.doc).map((m) => m.text).sort()).toEqual(['anyone there?', 'written on the train'])
})
