/**
 * A minimal WebSocket client over a plain TCP socket (RFC 6455), for load generation only.
 *
 * Why not `ws`: at hundreds of thousands of frames a second the cost that matters is per frame
 * and per syscall. Here a writer sends a run of precomputed, already-framed messages with one
 * socket write, and a reader walks every complete frame of a TCP chunk in place, with no
 * allocation and no event per message. Client frames are masked with an all-zero key, so a
 * precomputed frame is its payload behind a fixed header (servers cannot tell; a browser would
 * pick random keys to defeat proxy cache poisoning, which does not apply on loopback).
 */
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const OP_CONTINUATION = 0x0
const OP_BINARY = 0x2
const OP_CLOSE = 0x8
const OP_PING = 0x9
const MAX_HANDSHAKE_BYTES = 16 * 1024

/** Called for each complete message: its payload is bytes[start, end), valid only during the call. */
export type MessageSink = (bytes: Uint8Array, start: number, end: number, receivedAt: number) => void

export interface WireOptions {
  /** Largest message accepted; a bigger one is a protocol error. */
  maxMessageBytes: number
  onMessage: MessageSink
  /** The socket ended or failed (after open); `reason` says why. */
  onClose(reason: string): void
}

/** A masked binary frame (zero key) around `payload`. */
export function clientFrame(payload: Uint8Array): Uint8Array {
  const n = payload.length
  const headerBytes = n < 126 ? 2 : n < 65536 ? 4 : 10
  const frame = new Uint8Array(headerBytes + 4 + n)
  frame[0] = 0x80 | OP_BINARY
  if (n < 126) frame[1] = 0x80 | n
  else if (n < 65536) {
    frame[1] = 0x80 | 126
    frame[2] = n >>> 8
    frame[3] = n & 0xff
  } else {
    frame[1] = 0x80 | 127
    new DataView(frame.buffer).setBigUint64(2, BigInt(n))
  }
  frame.set(payload, headerBytes + 4) // the 4 mask bytes stay zero
  return frame
}

/**
 * Incremental decoder of server frames (unmasked). Complete frames in a chunk are handed out
 * in place; a partial frame at the end is kept, as are fragments until the final one.
 */
export class FrameDecoder {
  private pending: Uint8Array | null = null
  private fragments: Uint8Array[] = []
  private fragmentBytes = 0
  private readonly maxMessageBytes: number
  private readonly onMessage: MessageSink
  private readonly onControl: (opcode: number, payload: Uint8Array) => void

  constructor(maxMessageBytes: number, onMessage: MessageSink, onControl: (opcode: number, payload: Uint8Array) => void) {
    this.maxMessageBytes = maxMessageBytes
    this.onMessage = onMessage
    this.onControl = onControl
  }

  push(chunk: Uint8Array, receivedAt: number): void {
    const bytes = this.pending ? concat(this.pending, chunk) : chunk
    this.pending = null
    let pos = 0
    for (;;) {
      const consumed = this.frameAt(bytes, pos, receivedAt)
      if (consumed === 0) break
      pos += consumed
    }
    if (pos < bytes.length) this.pending = bytes.slice(pos)
  }

  /** Handles the frame at `pos`; returns its size, or 0 if it is not complete yet. */
  private frameAt(bytes: Uint8Array, pos: number, receivedAt: number): number {
    const available = bytes.length - pos
    if (available < 2) return 0
    const b0 = bytes[pos] as number
    const b1 = bytes[pos + 1] as number
    if (b1 & 0x80) throw new Error('server frames must not be masked')
    if (b0 & 0x70) throw new Error('no extension was negotiated')
    let length = b1 & 0x7f
    let header = 2
    if (length === 126) {
      if (available < 4) return 0
      length = ((bytes[pos + 2] as number) << 8) | (bytes[pos + 3] as number)
      header = 4
    } else if (length === 127) {
      if (available < 10) return 0
      const big = new DataView(bytes.buffer, bytes.byteOffset + pos + 2, 8).getBigUint64(0)
      if (big > BigInt(this.maxMessageBytes)) throw new Error(`frame of ${big} bytes is over the limit`)
      length = Number(big)
      header = 10
    }
    if (length > this.maxMessageBytes) throw new Error(`frame of ${length} bytes is over the limit`)
    if (available < header + length) return 0
    this.deliver(b0, bytes, pos + header, pos + header + length, receivedAt)
    return header + length
  }

  private deliver(b0: number, bytes: Uint8Array, start: number, end: number, receivedAt: number): void {
    const fin = (b0 & 0x80) !== 0
    const opcode = b0 & 0x0f
    if (opcode >= OP_CLOSE) return this.onControl(opcode, bytes.slice(start, end))
    if (fin && opcode !== OP_CONTINUATION && this.fragments.length === 0) return this.onMessage(bytes, start, end, receivedAt)
    if ((opcode === OP_CONTINUATION) !== (this.fragments.length > 0)) throw new Error('unexpected continuation frame')
    this.fragmentBytes += end - start
    if (this.fragmentBytes > this.maxMessageBytes) throw new Error('fragmented message over the limit')
    this.fragments.push(bytes.slice(start, end))
    if (!fin) return
    const whole = this.fragments.reduce(concat)
    this.fragments = []
    this.fragmentBytes = 0
    this.onMessage(whole, 0, whole.length, receivedAt)
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/**
 * Every socket reads into this one buffer (net's `onread`): no allocation and no stream event per
 * read. Safe because each read is handled synchronously and the decoder copies what it keeps.
 */
const READ_BUFFER = new Uint8Array(256 * 1024)

export class WireSocket {
  private readonly socket: net.Socket
  private readonly options: WireOptions
  private decoder: FrameDecoder | null = null
  private closed = false

  private constructor(target: URL, options: WireOptions, onHead: (head: string, rest: Uint8Array) => void) {
    this.options = options
    let head: Uint8Array = new Uint8Array(0)
    this.socket = net.connect({
      host: target.hostname,
      port: Number(target.port),
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (nread: number, buffer: Uint8Array): boolean => {
          const chunk = new Uint8Array(buffer.buffer, buffer.byteOffset, nread)
          if (this.decoder) return this.read(chunk)
          head = concat(head, chunk)
          const end = Buffer.from(head.buffer, head.byteOffset, head.length).indexOf('\r\n\r\n')
          if (end >= 0) onHead(Buffer.from(head.subarray(0, end)).toString('latin1'), head.subarray(end + 4))
          else if (head.length > MAX_HANDSHAKE_BYTES) onHead('', head)
          return true
        },
      },
    })
  }

  /** Opens a socket and completes the upgrade; rejects on anything but 101 with the right accept key. */
  static open(url: string, options: WireOptions): Promise<WireSocket> {
    const target = new URL(url)
    const key = randomBytes(16).toString('base64')
    const expectedAccept = createHash('sha1').update(key + GUID).digest('base64')
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => {
        wire.socket.destroy()
        reject(error)
      }
      const wire: WireSocket = new WireSocket(target, options, (head, rest) => {
        const lines = head.split('\r\n')
        const accept = lines.find((l) => l.toLowerCase().startsWith('sec-websocket-accept:'))?.slice(21).trim()
        if (!lines[0]?.startsWith('HTTP/1.1 101') || accept !== expectedAccept) return fail(new Error(`upgrade refused: ${lines[0] || 'no response'}`))
        wire.socket.off('error', fail)
        wire.attach()
        resolve(wire)
        if (rest.length > 0) wire.read(rest.slice())
      })
      wire.socket.on('error', fail)
      wire.socket.on('connect', () => wire.socket.write(upgradeRequest(target, key)))
    })
  }

  private attach(): void {
    this.decoder = new FrameDecoder(this.options.maxMessageBytes, this.options.onMessage, (opcode, payload) => {
      if (opcode === OP_PING) this.socket.write(controlFrame(0xa, payload))
      else if (opcode === OP_CLOSE) this.end(`closed by server${payload.length >= 2 ? ` (${(payload[0]! << 8) | payload[1]!})` : ''}`)
    })
    this.socket.on('error', (error) => this.end(error.message))
    this.socket.on('close', () => this.end('socket closed'))
  }

  private read(chunk: Uint8Array): boolean {
    try {
      this.decoder!.push(chunk, performance.now())
    } catch (error) {
      this.end(String((error as Error).message))
    }
    return true
  }

  private end(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.socket.destroy()
    this.options.onClose(reason)
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Writes bytes that are already framed (one or many frames). */
  writeFrames(frames: Uint8Array): void {
    if (!this.closed) this.socket.write(frames)
  }

  /** Closes without a close handshake: the load run is over. */
  destroy(): void {
    this.closed = true
    this.socket.destroy()
  }
}

function upgradeRequest(target: URL, key: string): string {
  return [
    `GET ${target.pathname}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    '',
    '',
  ].join('\r\n')
}

function controlFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const frame = clientFrame(payload.subarray(0, 125))
  frame[0] = 0x80 | opcode
  return frame
}
