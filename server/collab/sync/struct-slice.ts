/**
 * Cuts an update's structs down to chosen clock ranges, anywhere in a client's run (Yjs's
 * `diffUpdate` only cuts a prefix). Needed when a document holds structs past a gap (a snapshot
 * that kept what Yjs held pending) and an update arrives that fills the gap and repeats them:
 * only the gap is new. Parts left out between kept ones become skips, as Yjs writes them.
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

/** Kept clock ranges of one client, `[start, end)`, sorted and disjoint. */
export type ClockRanges = ReadonlyArray<readonly [number, number]>

type Struct = Y.Item | Y.GC | Y.Skip

/** The struct section (no delete set) of `update` holding only the ranges `keep` gives per client. */
export function keepStructRanges(update: Uint8Array, keep: (client: number) => ClockRanges): Uint8Array {
  const byClient = new Map<number, Struct[]>()
  for (const struct of Y.decodeUpdate(update).structs as Struct[]) {
    const list = byClient.get(struct.id.client)
    if (list) list.push(struct)
    else byClient.set(struct.id.client, [struct])
  }
  const runs: Array<[number, Array<[Struct, number, number]>]> = []
  for (const [client, structs] of byClient) {
    const pieces = piecesOf(structs, keep(client))
    if (pieces.length > 0) runs.push([client, pieces])
  }
  const encoder = new Y.UpdateEncoderV1()
  encoding.writeVarUint(encoder.restEncoder, runs.length)
  for (const [client, pieces] of runs) writeRun(encoder, client, pieces)
  return encoder.toUint8Array()
}

/** Each kept part of each struct: the struct and the clock range `[from, to)` kept of it. */
function piecesOf(structs: readonly Struct[], keep: ClockRanges): Array<[Struct, number, number]> {
  const pieces: Array<[Struct, number, number]> = []
  for (const struct of structs) {
    if (struct instanceof Y.Skip) continue
    const start = struct.id.clock
    const end = start + struct.length
    for (const [from, to] of keep) {
      const a = Math.max(from, start)
      const b = Math.min(to, end)
      if (a < b) pieces.push([struct, a, b])
    }
  }
  return pieces
}

function writeRun(encoder: Y.UpdateEncoderV1, client: number, pieces: ReadonlyArray<[Struct, number, number]>): void {
  const items: Array<() => void> = []
  let clock = pieces[0]![1]
  for (const [struct, from, to] of pieces) {
    if (from > clock) {
      const gap = new Y.Skip(Y.createID(client, clock), from - clock)
      items.push(() => gap.write(encoder, 0))
    }
    items.push(() => writePiece(encoder, struct, from, to))
    clock = to
  }
  encoding.writeVarUint(encoder.restEncoder, items.length)
  encoder.writeClient(client)
  encoding.writeVarUint(encoder.restEncoder, pieces[0]![1])
  for (const write of items) write()
}

/** Writes clocks `[from, to)` of a struct: a prefix cut by the write offset, a suffix by a copy. */
function writePiece(encoder: Y.UpdateEncoderV1, struct: Struct, from: number, to: number): void {
  const start = struct.id.clock
  if (struct instanceof Y.GC) return new Y.GC(Y.createID(struct.id.client, from), to - from).write(encoder, 0)
  const item = struct as Y.Item
  if (to === start + item.length) return item.write(encoder, from - start)
  const content = item.content.copy()
  content.splice(to - start)
  const head = new Y.Item(item.id, null, item.origin, null, item.rightOrigin, item.parent, item.parentSub, content)
  head.write(encoder, from - start)
}
