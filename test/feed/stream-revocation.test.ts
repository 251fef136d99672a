/**
 * A removed member's event stream ends even while they read it slowly. The stream's pump waits
 * for a slow reader between pages; membership is re-checked before every page and the removal's
 * access event ends the stream at once, so nothing recorded after the removal reaches them.
 */
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { addMember, injectApi, registerUser, type Api } from '../helpers/api.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

/** Enough bytes to fill the socket buffers between server and a reader that does not read. */
const BACKLOG_EVENTS = 4_000
const EVENT_BYTES = 4_000

describe('event stream of a removed member', () => {
  const ctx = useFreshServer()
  const api = (): Api => injectApi(ctx.server.app)

  it('ends when the member is removed, although the reader is slow, and carries nothing recorded after', async () => {
    const { fx } = ctx
    // A backlog of big events, written straight to the feed (a busy group's week of chat).
    const text = 'x'.repeat(EVENT_BYTES)
    const backlog = Array.from({ length: BACKLOG_EVENTS }, (_, i) => ({ key: `backlog-${i}`, type: 'chat.message.created', at: Date.now(), actor: fx.owner.id, data: { text } }))
    for (let i = 0; i < backlog.length; i += 500) await ctx.server.app.storage.feed.append(fx.group.id, backlog.slice(i, i + 500))

    const mallory = await registerUser(api(), 'Mallory')
    await addMember(api(), fx.owner, fx.group.id, mallory, 'editor')

    // Mallory opens the stream from the oldest event and stops reading after the first bytes.
    const serverSockets: net.Socket[] = []
    ctx.server.app.server.on('connection', (s: net.Socket) => serverSockets.push(s))
    const socket = net.connect(Number(new URL(ctx.server.url).port), '127.0.0.1')
    const chunks: Buffer[] = []
    let ended = false
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('close', () => { ended = true })
    socket.write(`GET /groups/${fx.group.id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${mallory.token}\r\n\r\n`)
    await waitFor(() => chunks.length > 0, 10_000, 'first bytes')
    socket.pause()
    const streamSocket = (): net.Socket | undefined => serverSockets.find((s) => s.remotePort === socket.localPort)
    await waitFor(() => (streamSocket()?.writableNeedDrain ?? false), 10_000, 'the server waits for the reader')

    expect((await api()('DELETE', `/groups/${fx.group.id}/members/${mallory.id}`, { token: fx.token })).status).toBe(204)
    // The server drops her stream's connection without waiting for her to read.
    await waitFor(() => streamSocket()!.destroyed, 5_000, 'her stream closed by the server')
    const named = await api()('POST', `/groups/${fx.group.id}/versions`, { token: fx.token, body: { doc: 'chat', name: 'after mallory left' } })
    expect(named.status).toBe(201)

    socket.resume()
    await waitFor(() => ended, 30_000, 'her side sees the end')
    const frames = Buffer.concat(chunks).toString('utf8').split('\n').filter((line) => line.startsWith('event: '))
    expect(frames.length).toBeLessThan(BACKLOG_EVENTS) // cut off, not fed to the end
    expect(frames.filter((line) => line !== 'event: chat.message.created')).toEqual([])
  })
})
