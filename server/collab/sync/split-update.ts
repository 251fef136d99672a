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
import { validateUpdateV1 } from '../wire/update-validator.ts'
import { encodeDeleteSet, readDeleteSet } from './delete-set.ts'

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
  // Deletions alone (no structs): nothing to split, and packing no runs would drop the delete set.
  if (runs.length === 0) return [update]
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

/**
 * The update as two: `client`'s structs alone (null when it has none), and everything else with
 * the delete set (null when nothing else is left).
 */
export function separateClient(update: Uint8Array, client: number): { of: Uint8Array | null; rest: Uint8Array | null } {
  const runs: { of: Run[]; rest: Run[] } = { of: [], rest: [] }
  let deleteSetStart = update.length
  validateUpdateV1(update, {
    struct(owner, clock, _length, start, end) {
      const list = owner === client ? runs.of : runs.rest
      const last = list.at(-1)
      if (last && last.client === owner && last.end === start) {
        last.end = end
        last.structs++
      } else {
        list.push({ client: owner, clock, start, end, structs: 1 })
      }
    },
    deleteSet(start) {
      deleteSetStart = start
    },
  })
  const deleteSet = update.subarray(deleteSetStart)
  const hasRest = runs.rest.length > 0 || deleteSet.length > 1
  return {
    of: runs.of.length > 0 ? encodePiece(update, runs.of, EMPTY_DELETE_SET) : null,
    rest: hasRest ? encodePiece(update, runs.rest, deleteSet) : null,
  }
}

/**
 * An update as two: the deletions of `client`'s clocks alone, and the rest (its structs and the
 * other deletions); each null when empty. A resend passing on several users' deletions can be
 * judged per user, and a writer's own deletions stay with the structs they delete.
 */
export function separateDeletedClient(update: Uint8Array, client: number): { of: Uint8Array | null; rest: Uint8Array | null } {
  let deleteSetStart = update.length
  let structs = 0
  validateUpdateV1(update, { struct: () => void structs++, deleteSet: (start) => { deleteSetStart = start } })
  const ranges = readDeleteSet(update, deleteSetStart)
  const of = ranges.filter((range) => range.client === client)
  const others = ranges.filter((range) => range.client !== client)
  const rest = structs > 0 || others.length > 0 ? concat(update.subarray(0, deleteSetStart), encodeDeleteSet(others)) : null
  return { of: of.length > 0 ? concat(EMPTY_DELETE_SET, encodeDeleteSet(of)) : null, rest }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/**
 * The update as one update per group of clients (`groupOf` names each client's group), each
 * with its clients' structs and no deletions, and the deletions alone (null when it has none).
 */
export function splitByClients<G>(update: Uint8Array, groupOf: (client: number) => G): { groups: Map<G, Uint8Array>; deletions: Uint8Array | null } {
  const runs = new Map<G, Run[]>()
  let deleteSetStart = update.length
  validateUpdateV1(update, {
    struct(client, clock, _length, start, end) {
      const group = groupOf(client)
      const list = runs.get(group) ?? []
      const last = list.at(-1)
      if (last && last.client === client && last.end === start) {
        last.end = end
        last.structs++
      } else {
        list.push({ client, clock, start, end, structs: 1 })
      }
      runs.set(group, list)
    },
    deleteSet(start) {
      deleteSetStart = start
    },
  })
  const groups = new Map([...runs].map(([group, list]) => [group, encodePiece(update, list, EMPTY_DELETE_SET)] as const))
  const deleteSet = update.subarray(deleteSetStart)
  return { groups, deletions: deleteSet.length > 1 ? encodePiece(update, [], deleteSet) : null }
}

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
