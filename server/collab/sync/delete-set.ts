/**
 * Yjs V1 delete sets on their own: read from the end of an update, written for an update of
 * ranges, and what a document has deleted so far (so only deletions it lacks count as new).
 *
 *   varuint clients | clients × (varuint client | varuint ranges | ranges × (varuint clock | varuint length))
 */
import * as encoding from 'lib0/encoding'
import { RangeMap } from '../content/range-map.ts'
import { BoundedReader } from '../wire/bounded-reader.ts'

export interface DeleteRange {
  client: number
  clock: number
  length: number
}

/** The ranges of the delete set that starts at byte `start` of a validated update. */
export function readDeleteSet(update: Uint8Array, start: number): DeleteRange[] {
  const reader = new BoundedReader(update.subarray(start))
  const ranges: DeleteRange[] = []
  for (let clients = reader.count(2); clients > 0; clients--) {
    const client = reader.varUint()
    for (let count = reader.count(2); count > 0; count--) {
      const clock = reader.varUint()
      const length = reader.varUint()
      if (length > 0) ranges.push({ client, clock, length })
    }
  }
  return ranges
}

/** A delete set holding `ranges` (grouped per client, in the order given). */
export function encodeDeleteSet(ranges: readonly DeleteRange[]): Uint8Array {
  const byClient = new Map<number, DeleteRange[]>()
  for (const range of ranges) {
    const list = byClient.get(range.client)
    if (list) list.push(range)
    else byClient.set(range.client, [range])
  }
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, byClient.size)
  for (const [client, list] of byClient) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, list.length)
    for (const { clock, length } of list) {
      encoding.writeVarUint(encoder, clock)
      encoding.writeVarUint(encoder, length)
    }
  }
  return encoding.toUint8Array(encoder)
}

/** What a document has deleted: per client, merged clock ranges. */
export class DeletedRanges {
  private readonly clients = new Map<number, RangeMap>()

  add(ranges: readonly DeleteRange[]): void {
    for (const { client, clock, length } of ranges) {
      let map = this.clients.get(client)
      if (!map) this.clients.set(client, map = new RangeMap())
      map.add(clock, clock + length, 1)
    }
  }

  /** The parts of a range not deleted yet. */
  undeleted(client: number, clock: number, length: number): Array<[number, number]> {
    return this.clients.get(client)?.uncovered(clock, clock + length) ?? [[clock, clock + length]]
  }
}
