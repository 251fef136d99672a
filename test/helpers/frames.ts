/** Hand-made y-websocket frames for hostile-input tests. */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

export function syncUpdateFrame(update: Uint8Array): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, 2)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/**
 * A V1 update of a few bytes declaring one client with 33,000,000 structs: yjs 13 allocates
 * `new Array(33e6)` (~264 MB) for it before noticing there is no data.
 */
export function amplificationUpdate(): Uint8Array<ArrayBuffer> {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1) // one client
  encoding.writeVarUint(encoder, 33_000_000) // structs declared
  encoding.writeVarUint(encoder, 7) // client id (yjs allocates before it would read the clock)
  return encoding.toUint8Array(encoder)
}

export function awarenessFrame(entries: Array<{ clientId: number; clock: number; state: unknown }>): Uint8Array<ArrayBuffer> {
  const inner = encoding.createEncoder()
  encoding.writeVarUint(inner, entries.length)
  for (const entry of entries) {
    encoding.writeVarUint(inner, entry.clientId)
    encoding.writeVarUint(inner, entry.clock)
    encoding.writeVarString(inner, JSON.stringify(entry.state))
  }
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint8Array(encoder, encoding.toUint8Array(inner))
  return encoding.toUint8Array(encoder)
}

/** The entries of an awareness frame (message type 1) by client id, states parsed (null: removed); null for any other frame. */
export function awarenessEntries(frame: Uint8Array): Map<number, { clock: number; state: unknown }> | null {
  const outer = decoding.createDecoder(frame)
  if (decoding.readVarUint(outer) !== 1) return null
  const inner = decoding.createDecoder(decoding.readVarUint8Array(outer))
  const entries = new Map<number, { clock: number; state: unknown }>()
  for (let count = decoding.readVarUint(inner); count > 0; count--) {
    const clientId = decoding.readVarUint(inner)
    const clock = decoding.readVarUint(inner)
    entries.set(clientId, { clock, state: JSON.parse(decoding.readVarString(inner)) as unknown })
  }
  return entries
}
