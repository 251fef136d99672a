/**
 * A writer's edits, made ahead of the run: one Y.Doc with the writer's own client id draws
 * canvas strokes through the shared schema helpers (a stroke, then points appended to it, then
 * the next stroke), and each transaction's update becomes one ready-to-write WebSocket frame.
 * All frames sit back to back in one buffer, so any run of consecutive edits is one socket write.
 */
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { addStroke, appendPoints, type Point } from '../../../shared/canvas.ts'
import { clientFrame } from './ws-wire.ts'

/** Points per stroke before the writer starts the next one (keeps each stroke's list short). */
const POINTS_PER_STROKE = 200

export interface WriterFrames {
  client: number
  /** Every frame, framed for the wire, back to back. */
  wire: Uint8Array
  /** Frame i is wire[offsets[i], offsets[i + 1]). */
  offsets: Uint32Array
  /** Frame i's update starts at this clock of `client` (increasing). */
  clocks: Float64Array
  count: number
}

/** A y-websocket sync-update message, with Hocuspocus's document-name prefix when `docName` is set. */
export function updateMessage(update: Uint8Array, docName?: string): Uint8Array {
  const encoder = encoding.createEncoder()
  if (docName !== undefined) encoding.writeVarString(encoder, docName)
  encoding.writeVarUint(encoder, 0) // sync
  encoding.writeVarUint(encoder, 2) // update
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** `count` consecutive edits by `client`; each is a valid update given the ones before it. */
export function makeWriterFrames(client: number, count: number, author = 'bench', docName?: string): WriterFrames {
  const doc = new Y.Doc()
  doc.clientID = client
  const updates: Uint8Array[] = []
  const clocks = new Float64Array(count)
  // An update's first struct starts at the writer's clock before the transaction.
  let clockBefore = 0
  doc.on('beforeTransaction', () => { clockBefore = Y.getState(doc.store, client) })
  doc.on('update', (update: Uint8Array) => {
    if (updates.length < count) clocks[updates.length] = clockBefore
    updates.push(update)
  })
  let seed = client % 2147483646 + 1
  const point = (): Point => {
    seed = (seed * 16807) % 2147483647
    return [seed % 1000, (seed >> 10) % 1000]
  }
  let stroke: Y.Map<unknown> | null = null
  for (let i = 0; i < count; i++) {
    if (i % POINTS_PER_STROKE === 0) stroke = addStroke(doc, { author, color: '#336699', width: 2, tool: 'pen', points: [point()] })
    else appendPoints(stroke!, [point()])
  }
  doc.destroy()
  return pack(client, updates, clocks, docName)
}

function pack(client: number, updates: Uint8Array[], clocks: Float64Array, docName?: string): WriterFrames {
  const frames = updates.map((u) => clientFrame(updateMessage(u, docName)))
  const offsets = new Uint32Array(frames.length + 1)
  for (let i = 0; i < frames.length; i++) offsets[i + 1] = offsets[i]! + frames[i]!.length
  const wire = new Uint8Array(offsets[frames.length]!)
  frames.forEach((frame, i) => wire.set(frame, offsets[i]!))
  return { client, wire, offsets, clocks: clocks.subarray(0, updates.length), count: updates.length }
}

/** Index of the first frame whose clock is >= `clock` (binary search). */
export function firstFrameAtOrAfter(frames: WriterFrames, clock: number): number {
  let lo = 0
  let hi = frames.count
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (frames.clocks[mid]! < clock) lo = mid + 1
    else hi = mid
  }
  return lo
}
