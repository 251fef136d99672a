import { describe, expect, it } from 'vitest'
import { addStroke, appendPoints, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { connectSynced } from '../helpers/clients.ts'
import { sameContent } from '../helpers/docs.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

describe('two stock clients in one room', () => {
  const ctx = useFreshServer()

  it('converge on canvas strokes drawn point by point and erased', async () => {
    const [alice, bob] = await ctx.pair(ctx.fx.canvas)
    const me = ctx.fx.owner.id // both clients are the same user, each with its own Yjs client id
    const stroke = addStroke(alice.doc, { author: me, color: '#ff0000', width: 3, tool: 'pen', points: [[0, 0]] })
    for (let i = 1; i <= 20; i++) appendPoints(stroke, [[i, i * 2]])
    addStroke(bob.doc, { author: me, color: '#0000ff', width: 5, tool: 'marker', points: [[9, 9]] })

    await waitFor(() => readStrokes(bob.doc).length === 2 && readStrokes(alice.doc).length === 2)
    await waitFor(() => readStrokes(bob.doc).find((s) => s.color === '#ff0000')?.points.length === 21)
    expect(readStrokes(bob.doc)).toEqual(readStrokes(alice.doc))

    eraseStroke(bob.doc, stroke.get('id') as string)
    await waitFor(() => readStrokes(alice.doc).length === 1)
    await waitFor(() => sameContent(alice.doc, bob.doc))
    expect(readStrokes(alice.doc)[0]?.color).toBe('#0000ff')
  })

  it('converge on chat messages from both sides', async () => {
    const [alice, bob] = await ctx.pair(ctx.fx.chat)
    postMessage(alice.doc, { author: ctx.fx.owner.id, authorName: 'Alice', text: 'hello' })
    postMessage(bob.doc, { author: ctx.fx.owner.id, authorName: 'Bob', text: 'hi there' })
    await waitFor(() => readAllMessages(alice.doc).length === 2 && readAllMessages(bob.doc).length === 2)
    await waitFor(() => sameContent(alice.doc, bob.doc))
    expect(readAllMessages(alice.doc).map((m) => m.text).sort()).toEqual(['hello', 'hi there'])
  })

  it('shows awareness of the other client and removes it when that client leaves', async () => {
    const [alice, bob] = await ctx.pair(ctx.fx.canvas)
    alice.provider.awareness.setLocalStateField('user', { name: 'Alice' })
    bob.provider.awareness.setLocalStateField('user', { name: 'Bob' })
    const aliceId = alice.doc.clientID
    // The name others see is the server's record of the user, whatever the client claims.
    await waitFor(() => (bob.provider.awareness.getStates().get(aliceId) as { user?: { name: string; id: string } } | undefined)?.user?.id === ctx.fx.owner.id)
    expect(bob.provider.awareness.getStates().get(aliceId)).toEqual({ user: { name: ctx.fx.owner.name, id: ctx.fx.owner.id } })
    await waitFor(() => alice.provider.awareness.getStates().has(bob.doc.clientID))

    alice.destroy()
    ctx.clients.splice(ctx.clients.indexOf(alice), 1)
    await waitFor(() => !bob.provider.awareness.getStates().has(aliceId), 5_000, 'awareness removal')
  })

  it('a late joiner receives current presence on connect', async () => {
    const [alice] = await ctx.pair(ctx.fx.chat)
    alice.provider.awareness.setLocalStateField('user', { name: 'Alice' })
    await waitFor(() => ctx.server.app.collab.registry.get(ctx.fx.chat)?.hasPresence(alice.doc.clientID))
    const carol = await connectSynced(ctx.server.collabUrl, ctx.fx.chat, { token: ctx.fx.token })
    ctx.clients.push(carol)
    await waitFor(() => carol.provider.awareness.getStates().has(alice.doc.clientID))
  })
})
