/**
 * Splits a V1 update into several smaller valid updates, at struct boundaries, so a big document
 * can be applied (or sent) in slices instead of one long block of the event loop.
 *
 * An encoded struct carries absolute ids (its origins and parent), so a run of consecutive structs
 * of one client is itself a valid client section once given its own struct count and first clock.
 * Yjs allows one section per client per update, so each piece holds at most one run per client;
 * the delete set goes into the last piece. Applied in order the pieces rebuild exactly the
 * original state; in any order they still converge (Yjs parks structs whose dependencies are
 * still missing).
 */
import * as encoding from 'lib0/encoding'
import { validateUpdateV1 } from './update-validator.ts'

interface Run {
  client: number
  clock: number
  start: number
  end: number
  structs: number
}

export function splitUpdate(update: Uint8Array, maxBytes: number): Uint8Array[] {
  if (update.length <= maxBytes) return [update]
  const runs: Run[] = []
  let deleteSetStart = update.length
  validateUpdateV1(update, {
    struct(client, clock, _length, start, end) {
      const last = runs.at(-1)
      if (last && last.client === client && last.end === start && end - last.start <= maxBytes) {
        last.end = end
        last.structs++
      } else {
        runs.push({ client, clock, start, end, structs: 1 })
      }
    },
    deleteSet(start) {
      deleteSetStart = start
    },
  })
  return pack(update, runs, update.subarray(deleteSetStart), maxBytes)
}

/** Fills pieces greedily up to maxBytes, never putting two runs of one client in one piece. */
function pack(update: Uint8Array, runs: Run[], deleteSet: Uint8Array, maxBytes: number): Uint8Array[] {
  const pieces: Run[][] = []
  let current: Run[] = []
  let size = 0
  const clients = new Set<number>()
  for (const run of runs) {
    const length = run.end - run.start
    if (current.length > 0 && (size + length > maxBytes || clients.has(run.client))) {
      pieces.push(current)
      current = []
      size = 0
      clients.clear()
    }
    current.push(run)
    size += length
    clients.add(run.client)
  }
  if (current.length > 0) pieces.push(current)
  return pieces.map((piece, i) => encodePiece(update, piece, i === pieces.length - 1 ? deleteSet : EMPTY_DELETE_SET))
}

const EMPTY_DELETE_SET = new Uint8Array([0])

function encodePiece(update: Uint8Array, runs: Run[], deleteSet: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, runs.length)
  for (const run of runs) {
    encoding.writeVarUint(encoder, run.structs)
    encoding.writeVarUint(encoder, run.client)
    encoding.writeVarUint(encoder, run.clock)
    encoding.writeUint8Array(encoder, update.subarray(run.start, run.end))
  }
  encoding.writeUint8Array(encoder, deleteSet)
  return encoding.toUint8Array(encoder)
}
