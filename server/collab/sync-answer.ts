/**
 * The answer to a client's sync step 1, computed on bytes. A client with nothing gets the
 * stored pieces and the updates since; a returning one gets the pieces it lacks whole as they
 * are, the deletions of pieces it has, diffs of pieces it has in part (off the main thread when
 * they are big) and the updates since that it may lack, merged. Every answer ends with a sync
 * step 2, so the client's `synced` still means it has everything.
 *
 * `cost` is what the answer took and sends, in bytes, for the socket's sync budget: a made-up
 * state vector cannot make the server diff or send a whole document per frame for free.
 */
import * as Y from 'yjs'
import type { DocBytes } from './doc-bytes.ts'
import type { DocWorker } from './doc-worker-client.ts'
import { syncStep2Frame, updateFrame } from './outbound.ts'

/** Pieces to diff up to this many bytes in all are diffed right here (a few milliseconds). */
const INLINE_DIFF_BYTES = 64 * 1024

const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc())
export const EMPTY_STEP2_FRAME = syncStep2Frame(EMPTY_UPDATE)

export interface SyncAnswer {
  frames: Uint8Array[]
  cost: number
}

export async function answerSync(bytes: DocBytes, stateVector: Uint8Array, worker: DocWorker): Promise<SyncAnswer> {
  const vector = Y.decodeStateVector(stateVector)
  if (vector.size === 0) return withCost([...bytes.freshFrames(), EMPTY_STEP2_FRAME], 0)
  const plan = bytes.plan(vector)
  const partialBytes = plan.partial.reduce((sum, piece) => sum + piece.length, 0)
  const diffs = partialBytes > INLINE_DIFF_BYTES
    ? await worker.diff(plan.partial, stateVector)
    : plan.partial.map((piece) => Y.diffUpdate(piece, stateVector))
  const rest = [...diffs, ...plan.updates]
  const frames = [...plan.frames]
  if (rest.length > 0) frames.push(updateFrame(rest.length === 1 ? rest[0]! : Y.mergeUpdates(rest)))
  frames.push(EMPTY_STEP2_FRAME)
  return withCost(frames, partialBytes)
}

function withCost(frames: Uint8Array[], work: number): SyncAnswer {
  return { frames, cost: work + frames.reduce((sum, frame) => sum + frame.length, 0) }
}
