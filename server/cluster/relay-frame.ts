/**
 * The frame every presence message between nodes travels in (room channels and the heartbeat
 * channel), by presence format (wire-format.ts):
 *
 *   1 (releases before the registry): [kind][sender id][payload]; a heartbeat is the bare sender id.
 *     The sender's length is not written: a reader takes its own id's length (every id is 22 chars).
 *   2 and later: [0xC5][varuint version][varuint kind][varstring sender][payload]
 *
 * The header of the versioned frame (marker, version, kind, sender) never changes; only what a
 * version puts after it may. So a node reads who sent a frame and what kind it is even when it
 * cannot read the payload: it drops and counts it, and still answers a newer node's query (in its
 * own newest format, which the newer node reads). Old nodes ignore the versioned frame (its first
 * byte is no kind they know).
 */
import * as encoding from 'lib0/encoding'
import { BoundedReader, DecodeError } from '../collab/wire/bounded-reader.ts'
import type { DropReason } from './format-negotiator.ts'

export const RelayKind = { update: 0, query: 1, answer: 2, heartbeat: 3 } as const
export type RelayKind = (typeof RelayKind)[keyof typeof RelayKind]

const VERSIONED = 0xc5
const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/
const MAX_SENDER_BYTES = 64

export interface RelayHeader {
  version: number
  kind: number
  sender: string
}

export interface RelayFrame extends RelayHeader {
  payload: Uint8Array
}

/** A frame read, or why not; `header` when at least who sent it and what kind could be read. */
export type ReadFrame =
  | { ok: true; frame: RelayFrame }
  | { ok: false; reason: DropReason; header: RelayHeader | null }

export function encodeRelayFrame({ version, kind, sender, payload }: RelayFrame): Buffer {
  if (version === 1) {
    if (kind === RelayKind.heartbeat) return Buffer.from(sender)
    return Buffer.concat([Buffer.from([kind]), Buffer.from(sender), payload])
  }
  const encoder = encoding.createEncoder()
  encoding.writeUint8(encoder, VERSIONED)
  encoding.writeVarUint(encoder, version)
  encoding.writeVarUint(encoder, kind)
  encoding.writeVarString(encoder, sender)
  encoding.writeUint8Array(encoder, payload)
  return Buffer.from(encoding.toUint8Array(encoder))
}

export interface FrameReading {
  /** Whether this node reads presence format `version`. */
  reads(version: number): boolean
  /** The sender length of an unversioned frame (this node's own id's). */
  legacySenderLength: number
  /** The frame came on the heartbeat channel (an unversioned one is a bare id). */
  heartbeat?: boolean
}

/** Never throws: another node's bug or a hostile publisher must not crash this one. */
export function decodeRelayFrame(bytes: Uint8Array, reading: FrameReading): ReadFrame {
  try {
    const frame = bytes[0] === VERSIONED ? readVersioned(bytes) : readUnversioned(bytes, reading)
    if (!frame) return { ok: false, reason: 'malformed', header: null }
    if (!reading.reads(frame.version)) return { ok: false, reason: 'unknown_version', header: headerOf(frame) }
    return { ok: true, frame }
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error
    return { ok: false, reason: 'malformed', header: null }
  }
}

function readVersioned(bytes: Uint8Array): RelayFrame | null {
  const reader = new BoundedReader(bytes)
  reader.skip(1)
  const version = reader.varUint()
  const kind = reader.varUint()
  const sender = reader.varBytes()
  if (version < 2 || sender.length > MAX_SENDER_BYTES) return null
  const id = Buffer.from(sender).toString()
  if (!NODE_ID.test(id)) return null
  return { version, kind, sender: id, payload: new Uint8Array(bytes.subarray(reader.position)) }
}

function readUnversioned(bytes: Uint8Array, reading: FrameReading): RelayFrame | null {
  if (reading.heartbeat) {
    const id = Buffer.from(bytes).toString()
    return NODE_ID.test(id) ? { version: 1, kind: RelayKind.heartbeat, sender: id, payload: new Uint8Array() } : null
  }
  const kind = bytes[0]
  if (kind === undefined || kind > RelayKind.answer || bytes.length < 1 + reading.legacySenderLength) return null
  const sender = Buffer.from(bytes.subarray(1, 1 + reading.legacySenderLength)).toString()
  if (!NODE_ID.test(sender)) return null
  return { version: 1, kind, sender, payload: new Uint8Array(bytes.subarray(1 + reading.legacySenderLength)) }
}

function headerOf({ version, kind, sender }: RelayFrame): RelayHeader {
  return { version, kind, sender }
}
