/** Encoding outbound y-websocket frames (trusted data, so lib0's encoder is used directly). */
import * as encoding from 'lib0/encoding'
import { AuthType, MessageType, SyncType } from '../../../shared/protocol.ts'

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

export function syncStep1Frame(stateVector: Uint8Array): Uint8Array {
  return syncFrame(SyncType.step1, stateVector)
}

export function syncStep2Frame(update: Uint8Array): Uint8Array {
  return syncFrame(SyncType.step2, update)
}

export function updateFrame(update: Uint8Array): Uint8Array {
  return syncFrame(SyncType.update, update)
}

/** One allocation and one copy of the payload (every update relayed, every piece of a loaded document). */
function syncFrame(type: number, payload: Uint8Array): Uint8Array {
  const header = frame((e) => {
    encoding.writeVarUint(e, MessageType.sync)
    encoding.writeVarUint(e, type)
    encoding.writeVarUint(e, payload.length)
  })
  const out = new Uint8Array(header.length + payload.length)
  out.set(header)
  out.set(payload, header.length)
  return out
}

export function awarenessFrame(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.awareness)
    encoding.writeVarUint8Array(e, update)
  })
}

/** An awareness update with no entries: clients apply it as a no-op; it keeps their watchdog fed. */
export const KEEPALIVE_FRAME: Uint8Array = awarenessFrame(new Uint8Array([0]))

export function queryAwarenessFrame(): Uint8Array {
  return frame((e) => encoding.writeVarUint(e, MessageType.queryAwareness))
}

export function permissionDeniedFrame(reason: string): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.auth)
    encoding.writeVarUint(e, AuthType.permissionDenied)
    encoding.writeVarString(e, reason)
  })
}
