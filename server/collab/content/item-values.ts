/**
 * The values an item carries, read from the update bytes (the update was validated first, so
 * lib0's decoder cannot run past the content or allocate beyond it). `offset` skips values Yjs
 * already has (an item that overlaps known clocks only adds its tail).
 *
 * Values that are not plain data come back as `not-plain`, never as values: lib0's readAny
 * builds an object by assigning its keys, so an encoded `__proto__` key sets the prototype, and
 * the fields it carries are invisible to Object.keys yet read by every JS reader (clients decode
 * with the same readAny). JSON content keeps `__proto__` as an own key, which an object spread
 * or assignment in a reader turns into a prototype just the same.
 */
import * as decoding from 'lib0/decoding'
import { CONTENT, type ItemStruct } from '../wire/update-validator.ts'

export type ItemValues =
  | { kind: 'values'; values: unknown[] }
  | { kind: 'not-plain' }
  | { kind: 'deleted'; length: number }
  | { kind: 'type'; typeRef: number }
  | { kind: 'other'; contentRef: number }

export function itemValues(update: Uint8Array, item: ItemStruct, offset: number): ItemValues {
  switch (item.contentRef) {
    case CONTENT.any: return plainValues(readList(update, item, offset, decoding.readAny))
    case CONTENT.json: return plainValues(readList(update, item, offset, readJson))
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

function plainValues(values: unknown[]): ItemValues {
  // Points are numbers: a primitive is plain without the walk (this runs on every update's items).
  return values.every((value) => typeof value !== 'object' || value === null || isPlainData(value)) ? { kind: 'values', values } : { kind: 'not-plain' }
}

/**
 * Primitives, arrays, byte arrays and objects with Object.prototype and no own `__proto__` key,
 * all the way down. Walked with a stack, not recursion: JSON content has no depth bound.
 */
export function isPlainData(root: unknown): boolean {
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value !== 'object' || value === null) continue
    const prototype: unknown = Object.getPrototypeOf(value)
    if (prototype === Uint8Array.prototype) continue
    if (prototype === Array.prototype && Array.isArray(value)) {
      for (const element of value as unknown[]) stack.push(element)
    } else if (prototype === Object.prototype && !Object.hasOwn(value, '__proto__')) {
      for (const field of Object.values(value)) stack.push(field)
    } else {
      return false
    }
  }
  return true
}
