/**
 * The answer to a client's sync step 1, computed on bytes. A client with nothing gets the
 * stored pieces and the updates since; a returning one gets the pieces it lacks whole as they
 * are, the deletions of pieces it has, diffs of pieces it has in part (off the main thread when
 * they are big) and the updates since that it may lack, merged. Every answer ends with a sync
 * step 2, so the client's `synced` still means it has everything.
 *
 * Planning is cheap and tells what the answer will cost (bytes diffed or merged, and sent) before
 * any of that work is done: the socket pays first, so a burst of made-up state vectors arriving
 * at once cannot make the server compute answers the budget does not pay for.
 */
import * as Y from 'yjs'
import type { DocBytes, FreshParts } from '../room/doc-bytes.ts'
import type { DocWorker } from '../workers/doc-worker-client.ts'
import { syncStep2Frame, updateFrame } from '../wire/outbound.ts'
import { mergeInTurns } from './update-blocks.ts'

/** Pieces to diff up to this many bytes in all are diffed right here (a few milliseconds). */
const INLINE_DIFF_BYTES = 64 * 1024

const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc())
const EMPTY_STEP2_FRAME = syncStep2Frame(EMPTY_UPDATE)

export interface PlannedSync {
  /** Bytes the answer costs: what it diffs or merges plus what it sends (an upper bound). */
  cost: number
  /** Computes the frames to send, in order. */
  answer(): Promise<Uint8Array[]>
}

export function planSync(bytes: Pick<DocBytes, 'freshParts' | 'plan'>, stateVector: Uint8Array, worker: DocWorker): PlannedSync {
  const vector = Y.decodeStateVector(stateVector)
  if (vector.size === 0) return planFresh(bytes.freshParts())
  const plan = bytes.plan(vector)
  const computed = sizeOf(plan.partial) + sizeOf(plan.updates.map((u) => u.update))
  return {
    cost: sizeOf(plan.frames) + 2 * computed + EMPTY_STEP2_FRAME.length,
    answer: async () => {
      // A diff reads the whole state vector it is given: give it only the pieces' clients (a
      // made-up vector of 100,000s of clients is then read once, here, not once per piece).
      const relevant = restrictVector(vector, plan.partialClients)
      const diffs = sizeOf(plan.partial) > INLINE_DIFF_BYTES
        ? await worker.diff(plan.partial, relevant)
        : plan.partial.map((piece) => Y.diffUpdate(piece, relevant))
      const merged = await mergeInTurns(plan.updates)
      return [...plan.frames, ...[...diffs, ...merged].map((update) => updateFrame(update)), EMPTY_STEP2_FRAME]
    },
  }
}

/** Everything: what is ready, then the updates since merged a block per turn (closed blocks kept for the next). */
function planFresh(fresh: FreshParts): PlannedSync {
  return {
    cost: sizeOf(fresh.frames) + sizeOf(fresh.unmerged.map((u) => u.update)) + EMPTY_STEP2_FRAME.length,
    answer: async () => {
      const merged: Uint8Array[] = []
      await mergeInTurns(fresh.unmerged, ({ update, start, end, closed }) => {
        const frame = updateFrame(update)
        if (closed) fresh.keepBlock(frame, start, end)
        merged.push(frame)
      })
      return [...fresh.frames, ...merged, EMPTY_STEP2_FRAME]
    },
  }
}

/** The state vector of `clients` alone, encoded. */
function restrictVector(vector: Map<number, number>, clients: Set<number>): Uint8Array {
  const kept = new Map<number, number>()
  for (const client of clients) {
    const clock = vector.get(client)
    if (clock !== undefined) kept.set(client, clock)
  }
  return Y.encodeStateVector(kept)
}

function sizeOf(parts: Uint8Array[]): number {
  return parts.reduce((sum, part) => sum + part.length, 0)
}
