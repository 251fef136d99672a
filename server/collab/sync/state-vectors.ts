/**
 * State vectors of stored pieces, exactly. Yjs's encodeStateVectorFromUpdate counts a client only
 * when its structs start at clock 0 within that one update, so it under-counts pieces after the
 * first; extending a vector piece by piece, in order, gives the true state the pieces hold.
 */
import * as Y from 'yjs'
import { validateUpdateV1 } from '../wire/update-validator.ts'

export const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc())

/** The vector after applying `update` on top of a state whose vector is `stateVector`. */
export function extendStateVector(stateVector: Uint8Array, update: Uint8Array): Uint8Array {
  const clocks = Y.decodeStateVector(stateVector)
  validateUpdateV1(update, {
    struct(client, clock, length, _start, _end, skip) {
      if (skip) return
      const known = clocks.get(client) ?? 0
      if (clock <= known) clocks.set(client, Math.max(known, clock + length))
    },
    deleteSet() {},
  })
  return Y.encodeStateVector(clocks)
}

export function stateVectorOf(pieces: Uint8Array[], from = EMPTY_STATE_VECTOR): Uint8Array {
  return pieces.reduce(extendStateVector, from)
}
