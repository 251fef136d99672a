/**
 * A simulated member's client: a Y.Doc speaking the y-websocket sync protocol as a stock
 * WebsocketProvider does (sync step 1 on connect, step 2 in answer to the server's step 1,
 * every local change as an update, everything from the server applied), over an in-memory
 * transport into a simulated node's CollabServer. Frames travel in microtasks, never inside the
 * sender's call. It keeps working offline and resends on reconnect, as a stock client does.
 *
 * It also records, per socket, every struct clock and deleted clock it received, and which
 * close codes it got, so the simulation can check that nothing reached it twice.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import type { CollabServer, SocketHandle } from '../../server/collab/collab-server.ts'

const MESSAGE_SYNC = 0
const MESSAGE_AUTH = 2

export interface Received {
  /** `client:clock` of every struct clock received on this socket, with how many times. */
  structs: Map<string, number>
  deleted: Map<string, number>
  /** What the client held when it asked for the document on this socket. */
  heldAtOpen: Y.Snapshot
}

export class SimClient {
  readonly doc: Y.Doc
  readonly userId: string
  /** Who and what, for messages. */
  readonly name: string
  readonly room: string
  /** Which node it is connected to (null: offline). */
  node: string | null = null
  private socket: SocketHandle | null = null
  /** Admission is under way. */
  connecting = false
  /** Per socket, in order. */
  readonly sockets: Received[] = []
  readonly closes: Array<{ code: number; reason: string }> = []
  readonly denied: string[] = []
  /** Every struct clock this client created, and every clock it deleted (its effective changes). */
  readonly ownDeleted = new Set<string>()
  private readonly transport = { origin: 'server' }

  constructor(userId: string, room: string, clientId: number) {
    this.name = `${userId}@${room.split('/')[1]}`
    this.userId = userId
    this.room = room
    this.doc = new Y.Doc()
    this.doc.clientID = clientId
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this.transport) return
      for (const key of deletedKeys(update)) this.ownDeleted.add(key)
      this.send(syncUpdate(update))
    })
  }

  get connected(): boolean {
    return this.socket !== null
  }

  get current(): Received | undefined {
    return this.socket ? this.sockets.at(-1) : undefined
  }

  /** Whether the client held `key` (a struct clock, or its deletion) when its current socket opened. */
  heldAtOpen(key: string, deleted: boolean): boolean {
    const held = this.current?.heldAtOpen
    if (!held) return false
    const [client, clock] = key.split(':').map(Number) as [number, number]
    return deleted ? Y.isDeleted(held.ds, Y.createID(client, clock)) : clock < (held.sv.get(client) ?? 0)
  }

  /** Keys received on the current socket. */
  *received(): IterableIterator<string> {
    const current = this.current
    if (!current) return
    yield* current.structs.keys()
    yield* current.deleted.keys()
  }

  /** Connects through the node's server; false when admission was refused. */
  async connect(node: string, server: CollabServer): Promise<boolean> {
    if (this.socket || this.connecting) return false
    this.connecting = true
    try {
      const admission = await server.admit(this.room, this.userId)
      if (!admission.ok) return false
      const received: Received = { structs: new Map(), deleted: new Map(), heldAtOpen: Y.snapshot(this.doc) }
      this.sockets.push(received)
      let handle: SocketHandle | null = null
      handle = server.connect(admission, {
        bufferedAmount: 0,
        send: (frame: Uint8Array) => {
          const copy = frame.slice()
          queueMicrotask(() => { if (this.socket === handle) this.receive(copy, received) })
        },
        close: (code: number, reason: string) => {
          this.closes.push({ code, reason })
          if (this.socket === handle) this.dropSocket()
          queueMicrotask(() => handle?.closed())
        },
      })
      this.socket = handle
      this.node = node
      this.send(step1(this.doc))
      return true
    } finally {
      this.connecting = false
    }
  }

  disconnect(): void {
    const socket = this.socket
    if (!socket) return
    this.dropSocket()
    socket.closed()
  }

  private dropSocket(): void {
    this.socket = null
    this.node = null
  }

  private send(frame: Uint8Array): void {
    const socket = this.socket
    if (!socket) return
    queueMicrotask(() => { if (this.socket === socket) socket.receive(frame, true) })
  }

  private receive(frame: Uint8Array, received: Received): void {
    const decoder = decoding.createDecoder(frame)
    const type = decoding.readVarUint(decoder)
    if (type === MESSAGE_AUTH) {
      decoding.readVarUint(decoder)
      this.denied.push(decoding.readVarString(decoder))
      return
    }
    if (type !== MESSAGE_SYNC) return // presence, queries: not simulated
    const syncType = decoding.readVarUint(decoder)
    const payload = decoding.readVarUint8Array(decoder)
    if (syncType === syncProtocol.messageYjsSyncStep1) {
      this.send(step2(this.doc, payload))
      return
    }
    if (process.env.SIM_DEBUG) console.log('RECV', this.name, syncType, JSON.stringify(structKeys(payload)), JSON.stringify(deletedKeys(payload)))
    count(received, payload)
    Y.applyUpdate(this.doc, payload, this.transport)
  }
}

function step1(doc: Y.Doc): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  syncProtocol.writeSyncStep1(encoder, doc)
  return encoding.toUint8Array(encoder)
}

function step2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  syncProtocol.writeSyncStep2(encoder, doc, stateVector)
  return encoding.toUint8Array(encoder)
}

function syncUpdate(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  syncProtocol.writeUpdate(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** `client:clock` of each struct clock an update carries (skips are not structs). */
export function structKeys(update: Uint8Array): string[] {
  const keys: string[] = []
  for (const struct of Y.decodeUpdate(update).structs) {
    if (struct instanceof Y.Skip) continue
    for (let i = 0; i < struct.length; i++) keys.push(`${struct.id.client}:${struct.id.clock + i}`)
  }
  return keys
}

export function deletedKeys(update: Uint8Array): string[] {
  const keys: string[] = []
  for (const [client, ranges] of Y.decodeUpdate(update).ds.clients) {
    for (const range of ranges) for (let i = 0; i < range.len; i++) keys.push(`${client}:${range.clock + i}`)
  }
  return keys
}

function count(received: Received, update: Uint8Array): void {
  for (const key of structKeys(update)) received.structs.set(key, (received.structs.get(key) ?? 0) + 1)
  for (const key of deletedKeys(update)) received.deleted.set(key, (received.deleted.get(key) ?? 0) + 1)
}
