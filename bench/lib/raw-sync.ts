/**
 * A bare protocol client: opens a socket, asks for the document (sync step 1 with an empty state
 * vector) and times the arrival of sync step 2, without applying it. Used where many syncs of a
 * big document must not turn the load generator into the bottleneck, and to time the server's
 * part of a cold load. Speaks y-websocket framing, or Hocuspocus's (document name first, auth
 * message before sync).
 */
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import type { TargetSpec } from './clients.ts'

const HOCUSPOCUS_VERSION = '4.8.0'

export interface RawSync {
  /** Socket creation → first frame from the server, ms. */
  firstFrameMs: number
  /** Socket creation → sync step 2 received, ms. */
  step2Ms: number
  bytes: number
}

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder) as Uint8Array<ArrayBuffer>
}

/** The frames a client sends first: Hocuspocus's auth message, then sync step 1 with an empty state vector. */
/** The frames a client sends first; `stateVector` is what it has (none: an empty client). */
export function openingFrames(target: TargetSpec, room: string, stateVector = new Uint8Array([0])): Uint8Array<ArrayBuffer>[] {
  const step1 = (e: encoding.Encoder): void => {
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint8Array(e, stateVector)
  }
  if (target.name !== 'hocuspocus') return [frame(step1)]
  return [
    frame((e) => {
      encoding.writeVarString(e, room)
      encoding.writeVarUint(e, 2)
      encoding.writeVarUint(e, 0)
      encoding.writeVarString(e, target.token ?? '')
      encoding.writeVarString(e, HOCUSPOCUS_VERSION)
    }),
    frame((e) => {
      encoding.writeVarString(e, room)
      step1(e)
    }),
  ]
}

export function isStep2(target: TargetSpec, data: Uint8Array): boolean {
  const decoder = decoding.createDecoder(data)
  if (target.name === 'hocuspocus') decoding.readVarString(decoder)
  return decoding.readVarUint(decoder) === 0 && decoding.readVarUint(decoder) === 1
}

export function rawSync(target: TargetSpec, room: string, stateVector?: Uint8Array<ArrayBuffer>, timeoutMs = 120_000): Promise<RawSync> {
  const url = target.name === 'ours' ? `${target.wsBase}/${room}?token=${encodeURIComponent(target.token ?? '')}` : `${target.wsBase}/${room}`
  const started = performance.now()
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  let firstFrameMs = Number.NaN
  return new Promise<RawSync>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('no sync step 2 in time')), timeoutMs)
    const fail = (error: Error): void => {
      clearTimeout(timer)
      ws.close()
      reject(error)
    }
    ws.addEventListener('open', () => { for (const f of openingFrames(target, room, stateVector)) ws.send(f) })
    ws.addEventListener('error', () => fail(new Error('socket error')))
    ws.addEventListener('close', (event) => fail(new Error(`closed ${event.code} ${event.reason}`)))
    ws.addEventListener('message', (event) => {
      const data = new Uint8Array(event.data as ArrayBuffer)
      if (Number.isNaN(firstFrameMs)) firstFrameMs = performance.now() - started
      if (!isStep2(target, data)) return
      clearTimeout(timer)
      resolve({ firstFrameMs, step2Ms: performance.now() - started, bytes: data.length })
      ws.close()
    })
  })
}
