/**
 * One client per target, each with its own stock provider: y-websocket's WebsocketProvider for
 * our server and the y-websocket reference server, HocuspocusProvider for Hocuspocus, a plain
 * WebSocket for the raw ceiling. Latency probes write timestamps and observe them on readers.
 */
import { HocuspocusProvider } from '@hocuspocus/provider'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { addStroke, appendPoints, strokesOf } from '../../shared/canvas.ts'
import { userOf } from './targets.ts'

export type TargetName = 'ours' | 'ours-b' | 'y-websocket' | 'y-websocket+leveldb' | 'hocuspocus' | 'raw-ws'

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
  /** Sets this client's presence (awareness state), where the target has presence. */
  present?(state: Record<string, unknown>): void
  /** Close codes the server sent this client so far (y-websocket clients), to name failures. */
  closeCodes?: number[]
  destroy(): void
}

/**
 * A probe is one point appended to the writer's own stroke, carrying its time as (seconds,
 * milliseconds) so both stay within the canvas's coordinate bounds: canvas content every server
 * takes (ours checks the canvas rules), growing ~20 bytes a probe.
 */
const PROBE_COLOR = '#123456'

export function openClient(target: TargetSpec, room: string, doc = new Y.Doc()): BenchClient {
  switch (target.name) {
    case 'raw-ws': return rawClient(target, room)
    case 'hocuspocus': return hocuspocusClient(target, room, doc, userOf(target))
    default: return websocketClient(target, room, doc, userOf(target))
  }
}

function crdtClient(doc: Y.Doc, author: string, synced: Promise<void>, destroy: () => void): BenchClient {
  let stroke: Y.Map<unknown> | null = null
  return {
    synced,
    doc,
    write: (t) => {
      const point = [Math.floor(t / 1000), t % 1000] as const
      if (stroke && appendPoints(stroke, [point])) return
      stroke = addStroke(doc, { author, color: PROBE_COLOR, width: 1, tool: 'pen', points: [point] })
    },
    onProbe: (listener) => strokesOf(doc).observeDeep((events, transaction) => {
      if (transaction.local) return
      for (const event of events) {
        for (const t of probeTimes(event)) listener(t)
      }
    }),
    destroy,
  }
}

/** Times carried by the points (or new strokes) an event adds. */
function probeTimes(event: Y.YEvent<Y.AbstractType<unknown>>): number[] {
  const added = event.changes.delta.flatMap((op) => (Array.isArray(op.insert) ? op.insert : []))
  if (added.every((value) => typeof value === 'number')) return pairs(added as number[])
  return added.flatMap((value) => (value instanceof Y.Map && value.get('color') === PROBE_COLOR ? pairs((value.get('points') as Y.Array<number>).toArray()) : []))
}

function pairs(flat: number[]): number[] {
  const times: number[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) times.push(flat[i]! * 1000 + flat[i + 1]!)
  return times
}

function websocketClient(target: TargetSpec, room: string, doc: Y.Doc, author: string): BenchClient {
  const params: Record<string, string> = target.token ? { token: target.token } : {}
  const provider = new WebsocketProvider(target.wsBase, room, doc, { params, disableBc: true })
  const closeCodes: number[] = []
  provider.on('connection-close', (event) => void closeCodes.push(event?.code ?? 0))
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve()
    provider.on('sync', (isSynced: boolean) => isSynced && resolve())
  })
  return {
    ...crdtClient(doc, author, synced, () => {
      provider.destroy()
      doc.destroy()
    }),
    present: (state) => provider.awareness.setLocalState(state),
    closeCodes,
  }
}

function hocuspocusClient(target: TargetSpec, room: string, doc: Y.Doc, author: string): BenchClient {
  let resolveSynced: () => void = () => {}
  const synced = new Promise<void>((resolve) => { resolveSynced = resolve })
  const provider = new HocuspocusProvider({ url: target.wsBase, name: room, document: doc, onSynced: () => resolveSynced() })
  return crdtClient(doc, author, synced, () => {
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
