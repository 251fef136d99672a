/**
 * Tools for attack tests (test/attacks/): hand-made Yjs updates (garbage, skip and item structs,
 * delete sets under any client id), y-websocket frames a stock client never sends, a decoder for
 * what the server answers, a group with members of every role, and readers of what a server
 * holds durably (its log and snapshot) and serves (REST), to compare with the clients.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import type { ChatMessage } from '../../shared/chat.ts'
import { readAllMessages } from '../../shared/chat.ts'
import { readStrokes, type Stroke } from '../../shared/canvas.ts'
import type { GroupResponse } from '../../shared/api.ts'
import { decodeSnapshotParts } from '../../server/collab/compaction/snapshot-codec.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import type { LogEntry } from '../../server/log/types.ts'
import { afterAll, afterEach, beforeAll } from 'vitest'
import type { Config } from '../../server/config.ts'
import { addMember, createGroup, injectApi, registerUser, type Api, type TestUser } from './api.ts'
import { connectSynced, rawSocket, type Client, type RawSocket } from './clients.ts'
import { snapshotDoc } from './snapshot-doc.ts'
import { startServer, tempDir, type TestServer } from './server.ts'
import { waitFor } from './wait.ts'

// --- hand-made updates ------------------------------------------------------------------------

/** One struct as Yjs encodes it (V1). Items here hold `any` values. */
export type RawStruct =
  | { kind: 'gc'; length: number }
  | { kind: 'skip'; length: number }
  | { kind: 'item'; values: unknown[]; parent?: string; key?: string; origin?: { client: number; clock: number } }

export interface RawClientStructs {
  client: number
  clock: number
  structs: RawStruct[]
}

export interface RawDeletes {
  client: number
  ranges: Array<[clock: number, length: number]>
}

const CONTENT_ANY = 8
const GC = 0
const SKIP = 10

/** A V1 update with exactly these structs and deletions (nothing checked: it may be hostile). */
export function rawUpdate(clients: RawClientStructs[], deletes: RawDeletes[] = []): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, clients.length)
  for (const section of clients) writeSection(encoder, section)
  encoding.writeVarUint(encoder, deletes.length)
  for (const { client, ranges } of deletes) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, ranges.length)
    for (const [clock, length] of ranges) {
      encoding.writeVarUint(encoder, clock)
      encoding.writeVarUint(encoder, length)
    }
  }
  return encoding.toUint8Array(encoder)
}

function writeSection(encoder: encoding.Encoder, { client, clock, structs }: RawClientStructs): void {
  encoding.writeVarUint(encoder, structs.length)
  encoding.writeVarUint(encoder, client)
  encoding.writeVarUint(encoder, clock)
  for (const struct of structs) writeStruct(encoder, struct)
}

/**
 * A real update (e.g. an honest stroke) with more client sections spliced in before its delete
 * set: Y.mergeUpdates would drop or reorder hand-made skip ranges, this keeps them as written.
 */
export function withSections(update: Uint8Array, extra: RawClientStructs[]): Uint8Array {
  const decoder = decoding.createDecoder(update)
  const count = decoding.readVarUint(decoder)
  const bodyStart = decoder.pos
  const { deleteSetStart } = updateInfo(update)
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, count + extra.length)
  encoding.writeUint8Array(encoder, update.subarray(bodyStart, deleteSetStart))
  for (const section of extra) writeSection(encoder, section)
  encoding.writeUint8Array(encoder, update.subarray(deleteSetStart))
  return encoding.toUint8Array(encoder)
}

function writeStruct(encoder: encoding.Encoder, struct: RawStruct): void {
  if (struct.kind !== 'item') {
    encoding.writeUint8(encoder, struct.kind === 'gc' ? GC : SKIP)
    encoding.writeVarUint(encoder, struct.length)
    return
  }
  const info = CONTENT_ANY | (struct.origin ? 0x80 : 0) | (!struct.origin && struct.key !== undefined ? 0x20 : 0)
  encoding.writeUint8(encoder, info)
  if (struct.origin) {
    encoding.writeVarUint(encoder, struct.origin.client)
    encoding.writeVarUint(encoder, struct.origin.clock)
  } else {
    encoding.writeVarUint(encoder, 1) // parent is a root type, by name
    encoding.writeVarString(encoder, struct.parent ?? 'strokes')
    if (struct.key !== undefined) encoding.writeVarString(encoder, struct.key)
  }
  encoding.writeVarUint(encoder, struct.values.length)
  for (const value of struct.values) encoding.writeAny(encoder, value as never)
}

/** The updates a document makes while `edit` runs, merged into one. */
export function captureUpdate(doc: Y.Doc, edit: () => void): Uint8Array {
  const updates: Uint8Array[] = []
  const listener = (update: Uint8Array): void => void updates.push(update)
  doc.on('update', listener)
  try {
    edit()
  } finally {
    doc.off('update', listener)
  }
  return Y.mergeUpdates(updates)
}

// --- frames ---------------------------------------------------------------------------------------

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

export function syncStep1(stateVector: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint8Array(e, stateVector)
  })
}

export function syncStep2(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint8Array(e, update)
  })
}

/** A state vector with these (made-up) clocks. */
export function stateVectorOf(entries: Array<[client: number, clock: number]>): Uint8Array {
  return Y.encodeStateVector(new Map(entries))
}

/** An awareness message whose states are given as raw JSON text (any size, repeated ids). */
export function awarenessJsonFrame(entries: Array<{ clientId: number; clock: number; json: string }>): Uint8Array {
  const inner = encoding.createEncoder()
  encoding.writeVarUint(inner, entries.length)
  for (const entry of entries) {
    encoding.writeVarUint(inner, entry.clientId)
    encoding.writeVarUint(inner, entry.clock)
    encoding.writeVarString(inner, entry.json)
  }
  return frame((e) => {
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner))
  })
}

// --- what the server sends -------------------------------------------------------------------------

export type ServerMessage =
  | { kind: 'sync-step1'; stateVector: Uint8Array }
  | { kind: 'sync-step2' | 'update'; update: Uint8Array }
  | { kind: 'awareness'; entries: Array<{ clientId: number; clock: number; state: unknown }> }
  | { kind: 'permission-denied'; reason: string }
  | { kind: 'other'; type: number }

export function decodeServerFrame(bytes: Uint8Array): ServerMessage {
  const decoder = decoding.createDecoder(bytes)
  const type = decoding.readVarUint(decoder)
  if (type === 0) {
    const sub = decoding.readVarUint(decoder)
    const payload = decoding.readVarUint8Array(decoder)
    if (sub === 0) return { kind: 'sync-step1', stateVector: payload }
    return { kind: sub === 1 ? 'sync-step2' : 'update', update: payload }
  }
  if (type === 1) {
    const inner = decoding.createDecoder(decoding.readVarUint8Array(decoder))
    const count = decoding.readVarUint(inner)
    const entries: Array<{ clientId: number; clock: number; state: unknown }> = []
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(inner)
      const clock = decoding.readVarUint(inner)
      entries.push({ clientId, clock, state: JSON.parse(decoding.readVarString(inner)) })
    }
    return { kind: 'awareness', entries }
  }
  if (type === 2 && decoding.readVarUint(decoder) === 0) return { kind: 'permission-denied', reason: decoding.readVarString(decoder) }
  return { kind: 'other', type }
}

export function messagesOfSocket(socket: RawSocket): ServerMessage[] {
  return socket.frames.map(decodeServerFrame)
}

/** Reasons of the permission-denied messages a socket got. */
export function deniedReasons(socket: RawSocket): string[] {
  return messagesOfSocket(socket).flatMap((m) => (m.kind === 'permission-denied' ? [m.reason] : []))
}

/** A raw socket into `room` as the holder of `token`, opened and past its first sync frame. */
export async function hostileSocket(server: { collabUrl: string }, room: string, token: string): Promise<RawSocket> {
  const socket = rawSocket(`${server.collabUrl}/${room}?token=${token}`)
  await socket.opened
  await waitFor(() => socket.frames.length > 0, 10_000, 'the server\'s sync step 1')
  return socket
}

/** The latest awareness state the socket saw for each client id (null when removed). */
export function presenceSeen(socket: RawSocket): Map<number, unknown> {
  const seen = new Map<number, unknown>()
  for (const message of messagesOfSocket(socket)) {
    if (message.kind === 'awareness') for (const e of message.entries) seen.set(e.clientId, e.state)
  }
  return seen
}

// --- members -----------------------------------------------------------------------------------------

export interface Cast {
  owner: TestUser
  alice: TestUser
  bob: TestUser
  mallory: TestUser
  vera: TestUser
  group: GroupResponse
}

/** A group owned by `owner`, with editors alice, bob and mallory and the viewer vera. */
export async function castGroup(api: Api): Promise<Cast> {
  const [owner, alice, bob, mallory, vera] = await Promise.all(['Owner', 'Alice', 'Bob', 'Mallory', 'Vera'].map((name) => registerUser(api, name)))
  const group = await createGroup(api, owner!)
  for (const user of [alice!, bob!, mallory!]) await addMember(api, owner!, group.id, user, 'editor')
  await addMember(api, owner!, group.id, vera!, 'viewer')
  return { owner: owner!, alice: alice!, bob: bob!, mallory: mallory!, vera: vera!, group }
}

// --- what the server holds and serves --------------------------------------------------------------

/** Every log entry of a room, oldest first. */
export async function logEntries(server: TestServer, room: string): Promise<LogEntry[]> {
  return server.app.updateLog.read(room, '0-0', 1_000_000)
}

/**
 * The room as the server holds it durably: its stored snapshot, then every log entry after the
 * snapshot's watermark (as a node loading the room would read them).
 */
export async function durableDoc(server: TestServer, room: string): Promise<Y.Doc> {
  const snapshot = await server.app.storage.snapshots.load(room)
  const doc = snapshot ? snapshotDoc(snapshot.update) : new Y.Doc()
  const entries = await server.app.updateLog.read(room, snapshot?.watermark ?? '0-0', 1_000_000)
  for (const entry of entries) for (const { update } of entry.updates) Y.applyUpdate(doc, update)
  return doc
}

/** The state vector and bindings a stored snapshot claims (null: no snapshot yet). */
export async function snapshotMeta(server: TestServer, room: string): Promise<{ stateVector: Map<number, number>; bindings: Map<number, string> } | null> {
  const snapshot = await server.app.storage.snapshots.load(room)
  if (!snapshot) return null
  const parts = decodeSnapshotParts(snapshot.update)
  return { stateVector: parts.stateVector ? Y.decodeStateVector(parts.stateVector) : new Map(), bindings: parts.bindings }
}

/** `/healthz` over a real HTTP request (through the event loop and the socket layer). */
export async function healthy(url: string): Promise<boolean> {
  const response = await fetch(`${url}/healthz`)
  return response.status === 200
}

/** GET /groups/:id/messages, every page, oldest first. */
export async function restMessages(url: string, groupId: string, token: string): Promise<ChatMessage[]> {
  const all: ChatMessage[] = []
  let before: string | null = null
  do {
    const query: string = before ? `?limit=200&before=${before}` : '?limit=200'
    const response = await fetch(`${url}/groups/${groupId}/messages${query}`, { headers: { authorization: `Bearer ${token}` } })
    if (response.status !== 200) throw new Error(`GET messages: ${response.status} ${await response.text()}`)
    const page = (await response.json()) as { messages: ChatMessage[]; nextBefore: string | null }
    all.unshift(...page.messages)
    before = page.nextBefore
  } while (before)
  return all
}

export async function restSvg(url: string, groupId: string, token: string): Promise<string> {
  const response = await fetch(`${url}/groups/${groupId}/canvas.svg`, { headers: { authorization: `Bearer ${token}` } })
  if (response.status !== 200) throw new Error(`GET canvas.svg: ${response.status} ${await response.text()}`)
  return response.text()
}

/** Stroke ids and authors as canvas.svg shows them (`data-id`, `data-author`), in paint order. */
export function svgStrokes(svg: string): Array<{ id: string; author: string }> {
  return [...svg.matchAll(/<path\b[^>]*>/g)].map(([tag]) => ({ id: attribute(tag, 'data-id'), author: attribute(tag, 'data-author') }))
}

function attribute(tag: string, name: string): string {
  const match = new RegExp(`\\b${name}="([^"]*)"`).exec(tag)
  return match ? match[1]!.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&') : ''
}

/** The strokes of a document that canvas.svg draws (those with at least one point). */
export function drawnStrokes(doc: Y.Doc): Array<{ id: string; author: string }> {
  return readStrokes(doc).filter((s: Stroke) => s.points.length > 0).map(({ id, author }) => ({ id, author }))
}

/** A document's messages as REST serves them, but with the author names from `names`. */
export function messagesNamed(doc: Y.Doc, names: Map<string, string>): ChatMessage[] {
  return readAllMessages(doc).map((m) => ({ ...m, authorName: names.get(m.author) ?? '' }))
}

// --- a server for a file of attacks ------------------------------------------------------------------

export interface Users {
  owner: TestUser
  alice: TestUser
  bob: TestUser
  mallory: TestUser
  vera: TestUser
}

export interface AttackContext {
  server: TestServer
  users: Users
  /** Stock clients and raw sockets, closed after each test. */
  clients: Client[]
  sockets: RawSocket[]
  /** A fresh group of the file's users (owner, editors alice, bob and mallory, viewer vera). */
  group(): Promise<GroupResponse>
  /** A stock client of `user` in `room`, synced, closed after the test. */
  connect(room: string, user: TestUser): Promise<Client>
  /** A raw socket of `user` in `room`, past the server's first frame, closed after the test. */
  hostile(room: string, user: TestUser): Promise<RawSocket>
}

/** One real server (own DATA_DIR) for the file; users registered once; clients closed after each test. */
export function useAttackServer(overrides: () => Partial<Config> = () => ({})): AttackContext {
  const context = { clients: [] as Client[], sockets: [] as RawSocket[] } as AttackContext
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined
  context.group = async () => {
    const api = injectApi(context.server.app)
    const { owner, alice, bob, mallory, vera } = context.users
    const group = await createGroup(api, owner)
    for (const user of [alice, bob, mallory]) await addMember(api, owner, group.id, user, 'editor')
    await addMember(api, owner, group.id, vera, 'viewer')
    return group
  }
  context.connect = async (room, user) => {
    const client = await connectSynced(context.server.collabUrl, room, { token: user.token })
    context.clients.push(client)
    return client
  }
  context.hostile = async (room, user) => {
    const socket = await hostileSocket(context.server, room, user.token)
    context.sockets.push(socket)
    return socket
  }
  beforeAll(async () => {
    dir = await tempDir()
    context.server = await startServer({ dataDir: dir.path, ...overrides() })
    const api = injectApi(context.server.app)
    const [owner, alice, bob, mallory, vera] = await Promise.all(['Owner', 'Alice', 'Bob', 'Mallory', 'Vera'].map((name) => registerUser(api, name)))
    context.users = { owner: owner!, alice: alice!, bob: bob!, mallory: mallory!, vera: vera! }
  })
  afterEach(() => {
    for (const client of context.clients.splice(0)) client.destroy()
    for (const socket of context.sockets.splice(0)) socket.ws.close()
  })
  afterAll(async () => {
    await context.server?.close()
    await dir?.remove()
  })
  return context
}

// --- a WebSocket client at the byte level ---------------------------------------------------------

export interface WireSocket {
  /** Writes these messages (one binary frame each) in one TCP write: they arrive together. */
  writeAll(messages: Uint8Array[]): void
  /** Resolves with the close code the server sent (or 1006 if the connection just ended). */
  closed: Promise<number>
  /** Payload bytes of the binary messages received so far. */
  readonly bytesIn: number
  destroy(): void
}

/**
 * A minimal WebSocket client over a raw TCP socket (RFC 6455: handshake, masked binary frames
 * out, frames in), for attacks that need control over how frames share TCP writes. `early`
 * messages go in the same write as the handshake request: the server reads them the moment the
 * socket is admitted, before anything else can happen.
 */
export async function wireSocket(url: string, options: { early?: Uint8Array[] } = {}): Promise<WireSocket> {
  const target = new URL(url)
  const socket = net.connect(Number(target.port), target.hostname)
  await once(socket, 'connect')
  const key = randomBytes(16).toString('base64')
  const request = `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  socket.write(Buffer.concat([Buffer.from(request), ...(options.early ?? []).map(maskedFrame)]))
  let buffer = Buffer.alloc(0)
  let upgraded = false
  let bytesIn = 0
  let resolveClosed: (code: number) => void = () => {}
  const closed = new Promise<number>((resolve) => (resolveClosed = resolve))
  const opened = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buffer.subarray(0, end).toString()
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`))
        upgraded = true
        buffer = buffer.subarray(end + 4)
        resolve()
      }
      for (;;) {
        const frame = readFrame(buffer)
        if (!frame) break
        buffer = buffer.subarray(frame.size)
        if (frame.opcode === 8) resolveClosed(frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005)
        else if (frame.opcode === 2) bytesIn += frame.payload.length
      }
    })
    socket.on('error', reject)
  })
  socket.on('close', () => resolveClosed(1006))
  socket.on('error', () => undefined)
  await opened
  return {
    writeAll: (messages) => void socket.write(Buffer.concat(messages.map(maskedFrame))),
    closed,
    get bytesIn() { return bytesIn },
    destroy: () => socket.destroy(),
  }
}

function maskedFrame(payload: Uint8Array): Buffer {
  const length = payload.length
  const header = length < 126 ? Buffer.from([0x82, 0x80 | length]) : length < 65536 ? Buffer.from([0x82, 0x80 | 126, length >> 8, length & 0xff]) : Buffer.concat([Buffer.from([0x82, 0x80 | 127]), bigEndian64(length)])
  const mask = randomBytes(4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!
  return Buffer.concat([header, mask, body])
}

function bigEndian64(value: number): Buffer {
  const bytes = Buffer.alloc(8)
  bytes.writeBigUInt64BE(BigInt(value))
  return bytes
}

function readFrame(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (buffer.length < 2) return null
  const opcode = buffer[0]! & 0x0f
  let length = buffer[1]! & 0x7f
  let offset = 2
  if (length === 126) {
    if (buffer.length < 4) return null
    length = buffer.readUInt16BE(2)
    offset = 4
  } else if (length === 127) {
    if (buffer.length < 10) return null
    length = Number(buffer.readBigUInt64BE(2))
    offset = 10
  }
  if (buffer.length < offset + length) return null
  return { opcode, payload: buffer.subarray(offset, offset + length), size: offset + length }
}

/** A full garbage collection of this process's main heap (no --expose-gc needed). */
export function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
}
