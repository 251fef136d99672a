/** Stock y-websocket clients (WebsocketProvider, Node's built-in WebSocket) and raw sockets. */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { waitFor } from './wait.ts'

export interface Client {
  doc: Y.Doc
  provider: WebsocketProvider
  /** Resolves when the provider has synced (again). */
  synced(): Promise<void>
  closeEvents: Array<{ code: number; reason: string }>
  destroy(): void
}

/** `socket`: the WebSocket class the provider uses (e.g. one that also records the frames). */
export function connectClient(collabUrl: string, room: string, options: { token?: string; connect?: boolean; doc?: Y.Doc; socket?: typeof WebSocket } = {}): Client {
  const doc = options.doc ?? new Y.Doc()
  const params: Record<string, string> = options.token ? { token: options.token } : {}
  const provider = new WebsocketProvider(collabUrl, room, doc, {
    params, disableBc: true, connect: options.connect ?? true, ...(options.socket && { WebSocketPolyfill: options.socket }),
  })
  const closeEvents: Array<{ code: number; reason: string }> = []
  provider.on('connection-close', (event) => {
    if (event) closeEvents.push({ code: event.code, reason: event.reason })
  })
  return {
    doc,
    provider,
    closeEvents,
    synced: () => waitFor(() => provider.synced, 10_000, `client sync on ${room}`).then(() => undefined),
    destroy: () => {
      provider.destroy()
      doc.destroy()
    },
  }
}

export async function connectSynced(collabUrl: string, room: string, options: { token?: string } = {}): Promise<Client> {
  const client = connectClient(collabUrl, room, options)
  await client.synced()
  return client
}

export interface RawSocket {
  ws: WebSocket
  opened: Promise<void>
  closed: Promise<{ code: number; reason: string }>
  frames: Uint8Array[]
  send(bytes: Uint8Array | string): void
}

/** A plain WebSocket for sending hand-made (hostile) frames. */
export function rawSocket(url: string): RawSocket {
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  const frames: Uint8Array[] = []
  ws.addEventListener('message', (event) => frames.push(new Uint8Array(event.data as ArrayBuffer)))
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve())
    ws.addEventListener('error', () => reject(new Error('socket error before open')))
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason }))
  })
  opened.catch(() => undefined)
  return { ws, opened, closed, frames, send: (bytes) => ws.send(typeof bytes === 'string' ? bytes : new Uint8Array(bytes)) }
}
