/**
 * The lean generator's WebSocket client against a real `ws` server: precomputed frames written
 * in one go arrive as separate messages; server messages of every length encoding, fragmented
 * ones and ones split across TCP chunks arrive whole; pings are answered; a close is reported.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import * as ws from 'ws'
import { WebSocketServer, type WebSocket } from 'ws'
import { clientFrame, FrameDecoder, WireSocket } from '../../bench/lib/lean/ws-wire.ts'
import { waitFor } from '../helpers/wait.ts'

/** ws's own framer (exported at runtime, missing from @types/ws): an encoder that is not ours. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] } }

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
const SIZES = [0, 5, 125, 126, 300, 65_535, 65_536, 70_000]

interface Harness {
  url: string
  server: Promise<WebSocket>
  received: Uint8Array[]
  close(): Promise<void>
}

let harness: Harness | null = null
afterEach(async () => { await harness?.close() })

async function startServer(): Promise<Harness> {
  const httpServer = http.createServer()
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false })
  const received: Uint8Array[] = []
  const server = new Promise<WebSocket>((resolve) => wss.on('connection', (ws) => {
    ws.on('message', (data) => received.push(new Uint8Array(data as Buffer)))
    resolve(ws)
  }))
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  const { port } = httpServer.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/room?x=1`,
    server,
    received,
    close: async () => {
      for (const ws of wss.clients) ws.terminate()
      await new Promise((resolve) => wss.close(resolve))
      await new Promise((resolve) => httpServer.close(resolve))
    },
  }
}

function collector(): { messages: Uint8Array[]; closes: string[]; options: Parameters<typeof WireSocket.open>[1] } {
  const messages: Uint8Array[] = []
  const closes: string[] = []
  return { messages, closes, options: { maxMessageBytes: 1 << 20, onMessage: (b, s, e) => messages.push(new Uint8Array(b.subarray(s, e))), onClose: (r) => closes.push(r) } }
}

describe('lean WebSocket client', () => {
  it('writes many precomputed frames with one write; the server reads each message', async () => {
    harness = await startServer()
    const socket = await WireSocket.open(harness.url, collector().options)
    const payloads = SIZES.map((n, i) => bytes(n, i))
    const frames = payloads.map(clientFrame)
    const joined = new Uint8Array(frames.reduce((n, f) => n + f.length, 0))
    frames.reduce((at, f) => { joined.set(f, at); return at + f.length }, 0)
    socket.writeFrames(joined)
    await waitFor(() => harness!.received.length === payloads.length)
    expect(harness.received).toEqual(payloads)
    socket.destroy()
  })

  it('receives every length encoding and fragmented messages whole, answers pings, reports the close code', async () => {
    harness = await startServer()
    const { messages, closes, options } = collector()
    await WireSocket.open(harness.url, options)
    const server = await harness.server
    const payloads = SIZES.map((n, i) => bytes(n, 100 + i))
    for (const p of payloads) server.send(p, { binary: true })
    server.send(bytes(10, 1), { binary: true, fin: false })
    server.send(bytes(200, 2), { binary: true, fin: true })
    const pong = new Promise<Buffer>((resolve) => server.once('pong', resolve))
    server.ping(Buffer.from('hi'))
    expect((await pong).toString()).toBe('hi')
    await waitFor(() => messages.length === payloads.length + 1)
    expect(messages).toEqual([...payloads, Uint8Array.from([...bytes(10, 1), ...bytes(200, 2)])])
    server.close(4403, 'forbidden')
    await waitFor(() => closes.length === 1)
    expect(closes[0]).toContain('4403')
  })

  it('decodes frames split across chunks at every position', () => {
    const payloads = [bytes(3, 1), bytes(130, 2), bytes(70_000, 3)]
    const wire = Buffer.concat(payloads.flatMap((p) => Sender.frame(Buffer.from(p), { fin: true, opcode: 2, mask: false, readOnly: true }) ))
    for (const cut of [1, 2, 3, 5, 6, 9, 140, 141, 143, 144, 1000, wire.length - 1]) {
      const messages: Uint8Array[] = []
      const decoder = new FrameDecoder(1 << 20, (b, s, e) => messages.push(new Uint8Array(b.subarray(s, e))), () => {})
      decoder.push(wire.subarray(0, cut), 0)
      decoder.push(wire.subarray(cut), 0)
      expect(messages, `cut at ${cut}`).toEqual(payloads)
    }
  })

  it('refuses a frame over the size limit', () => {
    const decoder = new FrameDecoder(100, () => {}, () => {})
    const header = Sender.frame(Buffer.alloc(101), { fin: true, opcode: 2, mask: false, readOnly: true })[0]!
    expect(() => decoder.push(header, 0)).toThrow(/over the limit/)
  })
})
