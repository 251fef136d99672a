/**
 * Presence ids move between a user's own sockets (a client that reconnected before the server
 * noticed its old socket died keeps its presence), and a user's first change after reconnecting
 * takes effect (a socket's leaving removes its state at the state's own clock), also when its
 * client started its presence clock over.
 */
import { expect, it } from 'vitest'
import { CloseCode } from '../../shared/close-codes.ts'
import { connectClient, rawSocket } from '../helpers/clients.ts'
import { awarenessFrame } from '../helpers/frames.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useFreshServer()

it('lets a second socket of the same user take over its presence id, without closing either', async () => {
  const [alice, bob] = await ctx.pair(ctx.fx.canvas)
  alice.provider.awareness.setLocalStateField('cursor', { x: 1, y: 1 })
  const id = alice.doc.clientID
  await waitFor(() => (bob.provider.awareness.getStates().get(id) as { cursor?: { x: number } } | undefined)?.cursor?.x === 1)
  // The same client reconnecting on a new socket while its old one still looks alive to the server.
  const again = rawSocket(`${ctx.server.collabUrl}/${ctx.fx.canvas}?token=${ctx.fx.token}`)
  await again.opened
  const clock = alice.provider.awareness.meta.get(id)!.clock
  again.send(awarenessFrame([{ clientId: id, clock: clock + 1, state: { cursor: { x: 2, y: 2 } } }]))
  await waitFor(() => (bob.provider.awareness.getStates().get(id) as { cursor?: { x: number } } | undefined)?.cursor?.x === 2, 10_000, 'the new socket\'s state')
  expect(again.ws.readyState).toBe(WebSocket.OPEN)
  expect(alice.closeEvents.filter((e) => e.code === CloseCode.policyViolation)).toEqual([])
  again.ws.close()
})

it('shows the first change a client makes after it reconnected', async () => {
  const [alice, bob] = await ctx.pair(ctx.fx.canvas)
  const id = alice.doc.clientID
  alice.provider.awareness.setLocalStateField('cursor', { x: 10, y: 0 })
  await waitFor(() => (bob.provider.awareness.getStates().get(id) as { cursor?: { x: number } } | undefined)?.cursor?.x === 10)
  alice.provider.disconnect()
  await waitFor(() => !bob.provider.awareness.getStates().has(id), 10_000, 'bob saw her leave')
  alice.provider.connect()
  await alice.synced()
  alice.provider.awareness.setLocalStateField('cursor', { x: 11, y: 0 })
  await waitFor(() => (bob.provider.awareness.getStates().get(id) as { cursor?: { x: number } } | undefined)?.cursor?.x === 11, 10_000, 'her first change after reconnecting')
})

it('shows a client that started its presence over on the same document (a new provider: its clock starts again)', async () => {
  const [alice, bob] = await ctx.pair(ctx.fx.canvas)
  const id = alice.doc.clientID
  const cursorOf = () => (bob.provider.awareness.getStates().get(id) as { cursor?: { x: number } } | undefined)?.cursor?.x
  for (let x = 1; x <= 5; x++) alice.provider.awareness.setLocalStateField('cursor', { x, y: 0 })
  await waitFor(() => cursorOf() === 5, 10_000, 'her cursor')
  alice.provider.destroy()
  await waitFor(() => !bob.provider.awareness.getStates().has(id), 10_000, 'bob saw her leave')
  const again = connectClient(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token, doc: alice.doc })
  ctx.clients.push(again)
  await again.synced()
  again.provider.awareness.setLocalStateField('cursor', { x: 6, y: 0 }) // clock 1, below the 5 the room knows
  await waitFor(() => cursorOf() === 6, 10_000, 'her cursor from the new provider')
  expect(again.closeEvents).toEqual([])
})
