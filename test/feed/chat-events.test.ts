/**
 * A chat's messages reach the change feed soon, and one member cannot flood it. On a real server
 * whose rooms otherwise fold only after 10 minutes of quiet (so an event that arrives during the
 * test came by the chat's own deadline, CHAT_EVENT_DELAY_MS), with stock clients:
 * - a message posted while the conversation goes on reaches the feed; a stroke drawn before it
 *   has no event yet (canvas events wait for COMPACT_IDLE_MS);
 * - a member posting 1,000 messages in one write is closed with 4529 and none of them is taken;
 *   another member's message still reaches the feed, and the flooder's later message too once
 *   she writes within her budget;
 * - the budget outlives the room's stay in memory, and REST posts pay it too.
 */
import { describe, expect, it } from 'vitest'
import { addStroke } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { addMember, injectApi, registerUser } from '../helpers/api.ts'
import { connectSynced } from '../helpers/clients.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { allEvents, ofType, waitForEvents } from './feed-helpers.ts'

const QUIET_FOR_LONG = 600_000

describe('chat events', () => {
  const ctx = useFreshServer(() => ({ compactIdleMs: QUIET_FOR_LONG, compactEveryUpdates: 1_000_000, chatEventDelayMs: 100, chatMessageBurst: 50, chatMessagesPerMinute: 1 }))
  const api = (): ReturnType<typeof injectApi> => injectApi(ctx.server.app)

  it('reach the feed by the chat\'s deadline while talk goes on; a canvas waits for quiet', async () => {
    const { fx } = ctx
    const [canvas] = await ctx.pair(fx.canvas)
    addStroke(canvas.doc, { author: fx.owner.id, color: '#112233', width: 2, tool: 'pen', id: 'stroke-1', points: [[0, 0]] })
    const [chat] = await ctx.pair(fx.chat)
    let posted = 0
    const talk = setInterval(() => postMessage(chat.doc, { author: fx.owner.id, authorName: 'Owner', text: `line ${++posted}` }), 20)
    try {
      const events = await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'chat.message.created').length > 0, 'a chat event while talk goes on')
      expect(ofType(events, 'canvas.changed')).toEqual([])
    } finally {
      clearInterval(talk)
    }
  })

  it('refuse a member\'s flood of messages in one write (4529, none taken); everyone else posts on', async () => {
    const { fx } = ctx
    const flooder = await registerUser(api(), 'Flooder')
    await addMember(api(), fx.owner, fx.group.id, flooder, 'editor')
    const hostile = await connectSynced(ctx.server.collabUrl, fx.chat, { token: flooder.token })
    const honest = await connectSynced(ctx.server.collabUrl, fx.chat, { token: fx.token })
    ctx.clients.push(hostile, honest)
    hostile.doc.transact(() => {
      for (let i = 0; i < 1_000; i++) postMessage(hostile.doc, { id: `flood-${i}`, author: flooder.id, authorName: 'Flooder', text: 'x' })
    })
    await waitFor(() => hostile.closeEvents.some((e) => e.code === CloseCode.writeQuotaExceeded), 10_000, 'the flooder closed with 4529')
    // Her client keeps what it wrote and resends it on every reconnect: refused each time, so she stops.
    hostile.provider.disconnect()
    postMessage(honest.doc, { id: 'honest-1', author: fx.owner.id, authorName: 'Owner', text: 'still here' })
    const events = await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'chat.message.created').length > 0, 'the honest message')
    expect(ofType(events, 'chat.message.created').map((e) => (e.data.message as { id: string }).id)).toEqual(['honest-1'])
    expect(readAllMessages(honest.doc).map((m) => m.id)).toEqual(['honest-1'])

    // Within her budget, the same member posts like anyone (a fresh client: the flood stays on the old one).
    const calm = await connectSynced(ctx.server.collabUrl, fx.chat, { token: flooder.token })
    ctx.clients.push(calm)
    postMessage(calm.doc, { id: 'calm-1', author: flooder.id, authorName: 'Flooder', text: 'sorry' })
    const later = await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'chat.message.created').length > 1, 'her message within budget')
    expect(ofType(later, 'chat.message.created').map((e) => (e.data.message as { id: string }).id)).toEqual(['honest-1', 'calm-1'])
    expect((await allEvents(api(), fx.group.id, fx.token)).filter((e) => JSON.stringify(e.data).includes('flood-'))).toEqual([])
  })

  it('keep a member\'s post budget when the room leaves memory, and charge her REST posts to it (429)', async () => {
    const { fx } = ctx
    const member = await registerUser(api(), 'Member')
    await addMember(api(), fx.owner, fx.group.id, member, 'editor')
    const first = await connectSynced(ctx.server.collabUrl, fx.chat, { token: member.token })
    first.doc.transact(() => {
      for (let i = 0; i < 50; i++) postMessage(first.doc, { id: `burst-${i}`, author: member.id, authorName: 'Member', text: 'x' })
    })
    await waitForEvents(api(), fx.group.id, fx.token, (e) => ofType(e, 'chat.message.created').length === 50, 'her whole burst posted')
    first.destroy()
    await waitFor(() => ctx.server.app.collab.registry.size === 0, 10_000, 'the chat left memory')
    // Back at once with a fresh client: the budget she spent is still spent.
    const second = await connectSynced(ctx.server.collabUrl, fx.chat, { token: member.token })
    ctx.clients.push(second)
    second.doc.transact(() => {
      for (let i = 0; i < 20; i++) postMessage(second.doc, { id: `again-${i}`, author: member.id, authorName: 'Member', text: 'x' })
    })
    await waitFor(() => second.closeEvents.some((e) => e.code === CloseCode.writeQuotaExceeded), 10_000, 'refused: no fresh burst')
    second.provider.disconnect()
    const rest = await api()<{ error: string }>('POST', `/groups/${fx.group.id}/messages`, { token: member.token, body: { text: 'through REST' } })
    expect(rest.status).toBe(429)
    expect(rest.body.error).toBe('rate_limited')
    // The owner's budget is her own.
    expect((await api()('POST', `/groups/${fx.group.id}/messages`, { token: fx.token, body: { text: 'fine' } })).status).toBe(201)
  })
})
