/**
 * The values an item carries, read from the update bytes (the update was validated first, so
 * lib0's decoder cannot run past the content or allocate beyond it). `offset` skips values Yjs
 * already has (an item that overlaps known clocks only adds its tail).
 */
import * as decoding from 'lib0/decoding'
import { CONTENT, type ItemStruct } from '../wire/update-validator.ts'

export type ItemValues =
  | { kind: 'values'; values: unknown[] }
  | { kind: 'deleted'; length: number }
  | { kind: 'type'; typeRef: number }
  | { kind: 'other'; contentRef: number }

export function itemValues(update: Uint8Array, item: ItemStruct, offset: number): ItemValues {
  switch (item.contentRef) {
    case CONTENT.any: return { kind: 'values', values: readList(update, item, offset, decoding.readAny) }
    case CONTENT.json: return { kind: 'values', values: readList(update, item, offset, readJson) }
    case CONTENT.deleted: return { kind: 'deleted', length: item.length - offset }
    case CONTENT.type: return { kind: 'type', typeRef: item.typeRef! }
    default: return { kind: 'other', contentRef: item.contentRef }
  }
}

function readList(update: Uint8Array, item: ItemStruct, offset: number, read: (decoder: decoding.Decoder) => unknown): unknown[] {
  const decoder = decoding.createDecoder(update.subarray(item.contentStart, item.contentEnd))
  const count = decoding.readVarUint(decoder)
  const values: unknown[] = []
  for (let i = 0; i < count; i++) {
    const value = read(decoder)
    if (i >= offset) values.push(value)
  }
  return values
}

function readJson(decoder: decoding.Decoder): unknown {
  const json = decoding.readVarString(decoder)
  return json === 'undefined' ? undefined : JSON.parse(json)
}
