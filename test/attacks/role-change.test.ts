/**
 * Beyond issue 13's list: authorization that changes while an update waits. An editor sends an
 * update that needs content nobody has sent yet (the server holds it, as Yjs holds pending
 * structs); the owner then makes her a viewer (her socket stays, read-only). When the content it
 * waited for arrives, the held update must not be written: she is no longer allowed to write.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { injectApi } from '../helpers/api.ts'
import { sameContent } from '../helpers/docs.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { healthy, logEntries, rawUpdate, restMessages, useAttackServer } from '../helpers/hostile.ts'
import { waitFor } from '../helpers/wait.ts'

const ctx = useAttackServer()

describe('role changes while an update is held', () => {
  it('does not write an editor\'s held update after she was made a viewer', async () => {
    const group = await ctx.group()
    const room = group.rooms.chat
    const alice = await ctx.connect(room, ctx.users.alice)
    const bob = await ctx.connect(room, ctx.users.bob)
    postMessage(alice.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: 'first' })
    await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'in sync')

    // Mallory's message goes right after Alice's next one, which nobody has sent yet: held.
    const mallory = await ctx.hostile(room, ctx.users.mallory)
    const next = Y.getState(alice.doc.store, alice.doc.clientID)
    const held = { id: 'held-while-editor', author: ctx.users.mallory.id, text: 'written as an editor, landing as a viewer', time: Date.now() }
    mallory.send(syncUpdateFrame(rawUpdate([{ client: 0x4d000001, clock: 0, structs: [{ kind: 'item', origin: { client: alice.doc.clientID, clock: next }, values: [held] }] }])))
    expect(await healthy(ctx.server.url)).toBe(true)
    const conn = () => [...ctx.server.app.collab.registry.get(room)!.conns].find((c) => c.principal.userId === ctx.users.mallory.id)
    await waitFor(() => (conn()?.held.length ?? 0) > 0 || mallory.ws.readyState !== WebSocket.OPEN, 10_000, 'her update held')

    const demoted = await injectApi(ctx.server.app)('PATCH', `/groups/${group.id}/members/${ctx.users.mallory.id}`, { token: ctx.users.owner.token, body: { role: 'viewer' } })
    expect(demoted.status).toBe(200)
    await waitFor(() => conn()?.role === 'viewer', 10_000, 'her socket is read-only now')

    postMessage(alice.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: 'second' }) // what it waited for
    postMessage(alice.doc, { author: ctx.users.alice.id, authorName: 'Alice', text: 'third' })
    await waitFor(() => readAllMessages(bob.doc).some((m) => m.text === 'third'), 10_000, 'alice\'s messages arrive')
    await waitFor(() => sameContent(alice.doc, bob.doc), 10_000, 'in sync')
    expect(readAllMessages(bob.doc).map((m) => m.id)).not.toContain(held.id)
    const writers = (await logEntries(ctx.server, room)).flatMap((e) => e.updates.map((u) => u.writer))
    expect(writers).not.toContain(ctx.users.mallory.id)
    const served = await restMessages(ctx.server.url, group.id, ctx.users.owner.token)
    expect(served.map((m) => m.id)).not.toContain(held.id)
    expect([...alice.closeEvents, ...bob.closeEvents]).toEqual([])
  })
})
