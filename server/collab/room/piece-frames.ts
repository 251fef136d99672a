/**
 * A hot room keeps each snapshot piece inside the update frame it is sent in (doc-bytes.ts), so
 * every piece is copied once into its frame. A load frames a big room's pieces about 1 MiB per
 * event-loop turn: a 10 MiB room framed in one turn stalled the loop ~100 ms on a VM whose page
 * faults are slow (figure 4's cold load). DocBytes then takes those frames as they are.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import { updateFrame } from '../wire/outbound.ts'

/** Bytes framed per turn; pieces up to this many in all are left to DocBytes to frame at once. */
export const FRAME_TURN_BYTES = 1024 * 1024

/** The frame each piece framed by `framedInTurns` lies in (the piece is a view into it). */
const FRAME_OF = new WeakMap<Uint8Array, Uint8Array>()

export interface FramedPiece {
  frame: Uint8Array
  /** The piece itself, as a view into its frame. */
  update: Uint8Array
}

/** `piece` in its update frame: the one `framedInTurns` made, else a new copy. */
export function framed(piece: Uint8Array): FramedPiece {
  const frame = FRAME_OF.get(piece)
  if (frame) return { frame, update: piece }
  const copy = updateFrame(piece)
  return { frame: copy, update: copy.subarray(copy.length - piece.length) }
}

/** `pieces`, each as a view into its own new frame, framed FRAME_TURN_BYTES per turn. */
export async function framedInTurns(pieces: Uint8Array[]): Promise<Uint8Array[]> {
  if (pieces.reduce((sum, piece) => sum + piece.length, 0) <= FRAME_TURN_BYTES) return pieces
  const views: Uint8Array[] = []
  let turnBytes = 0
  for (const piece of pieces) {
    if (turnBytes >= FRAME_TURN_BYTES) {
      await nextTurn()
      turnBytes = 0
    }
    const { frame, update } = framed(piece)
    FRAME_OF.set(update, frame)
    views.push(update)
    turnBytes += piece.length
  }
  return views
}
