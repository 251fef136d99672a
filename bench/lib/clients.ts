/**
 * One client per target, each with its own stock provider: y-websocket's WebsocketProvider for
 * our server and the y-websocket reference server, HocuspocusProvider for Hocuspocus, a plain
 * WebSocket for the raw ceiling. Latency probes write timestamps and observe them on readers.
 */
import { HocuspocusProvider } from '@hocuspocus/provider'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

export type TargetName = 'ours' | 'y-websocket' | 'y-websocket+leveldb' | 'hocuspocus' | 'raw-ws'

/** What a load generator needs to reach a target (serializable across processes). */
export interface TargetSpec {
  name: TargetName
  wsBase: string
  token?: string
}

export interface BenchClient {
  synced: Promise<void>
  /** Writes one probe carrying `t` (the writer's performance.now()); `edit` numbers the edits. */
  write(t: number, edit: number): void
  /** Calls back with `t` of every probe another client wrote. */
  onProbe(listener: (t: number) => void): void
  doc: Y.Doc | null
  destroy(): void
}

const PROBES = 'bench'
/** Probes overwrite a rotating set of keys, so documents stay small however long a run lasts. */
const PROBE_KEYS = 256

export function openClient(target: TargetSpec, room: string, doc = new Y.Doc()): BenchClient {
  switch (target.name) {
    case 'raw-ws': return rawClient(target, room)
    case 'hocuspocus': return hocuspocusClient(target, room, doc)
    default: return websocketClient(target, room, doc)
  }
}

function crdtClient(doc: Y.Doc, synced: Promise<void>, destroy: () => void): BenchClient {
  const probes = doc.getMap<number>(PROBES)
  return {
    synced,
    doc,
    write: (t, edit) => probes.set(String(edit % PROBE_KEYS), t),
    onProbe: (listener) => probes.observe((event, transaction) => {
      if (transaction.local) return
      for (const key of event.keysChanged) {
        const t = probes.get(key)
        if (t !== undefined) listener(t)
      }
    }),
    destroy,
  }
}

function websocketClient(target: TargetSpec, room: string, doc: Y.Doc): BenchClient {
  const params: Record<string, string> = target.token ? { token: target.token } : {}
  const provider = new WebsocketProvider(target.wsBase, room, doc, { params, disableBc: true })
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve()
    provider.on('sync', (isSynced: boolean) => isSynced && resolve())
  })
  return crdtClient(doc, synced, () => {
    provider.destroy()
    doc.destroy()
  })
}

function hocuspocusClient(target: TargetSpec, room: string, doc: Y.Doc): BenchClient {
  let resolveSynced: () => void = () => {}
  const synced = new Promise<void>((resolve) => { resolveSynced = resolve })
  const provider = new HocuspocusProvider({ url: target.wsBase, name: room, document: doc, onSynced: () => resolveSynced() })
  return crdtClient(doc, synced, () => {
    provider.destroy()
    doc.destroy()
  })
}

function rawClient(target: TargetSpec, room: string): BenchClient {
  const ws = new WebSocket(`${target.wsBase}/${room}`)
  const listeners: Array<(t: number) => void> = []
  ws.addEventListener('message', (event) => {
    const { t } = JSON.parse(String(event.data)) as { t: number }
    for (const listener of listeners) listener(t)
  })
  return {
    synced: new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve())
      ws.addEventListener('error', () => reject(new Error('raw socket failed')))
    }),
    doc: null,
    write: (t, edit) => ws.send(JSON.stringify({ t, e: edit })),
    onProbe: (listener) => void listeners.push(listener),
    destroy: () => ws.close(),
  }
}
