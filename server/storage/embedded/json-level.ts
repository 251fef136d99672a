/** Typed JSON sublevels of the embedded store, and the batch operations that span them. */
import type { AbstractBatchOperation, AbstractLevel } from 'abstract-level'
import { prefixRange, type LevelDb } from './level.ts'

export type JsonLevel<V> = AbstractLevel<string | Buffer | Uint8Array, string, V>

export function jsonLevel<V>(db: LevelDb, name: string): JsonLevel<V> {
  return db.sublevel<string, V>(name, { valueEncoding: 'json' }) as unknown as JsonLevel<V>
}

/** A put or del on a given sublevel, for one atomic `db.batch` across sublevels. */
export type Op =
  | { type: 'put'; sublevel: JsonLevel<unknown>; key: string; value: unknown }
  | { type: 'del'; sublevel: JsonLevel<unknown>; key: string }

export function put<V>(sublevel: JsonLevel<V>, key: string, value: V): Op {
  return { type: 'put', sublevel: sublevel as JsonLevel<unknown>, key, value }
}

export function del<V>(sublevel: JsonLevel<V>, key: string): Op {
  return { type: 'del', sublevel: sublevel as JsonLevel<unknown>, key }
}

export async function commit(db: LevelDb, ops: Op[]): Promise<void> {
  // abstract-level accepts per-operation sublevels; its batch typing does not express that.
  await db.batch(ops as unknown as Array<AbstractBatchOperation<LevelDb, string, Uint8Array>>)
}

/** Keys `<prefix>!…` of an index sublevel, with the prefix stripped. */
export async function indexedIds(index: JsonLevel<number>, prefix: string): Promise<string[]> {
  const ids: string[] = []
  for await (const key of index.keys(prefixRange(`${prefix}!`))) ids.push(key.slice(prefix.length + 1))
  return ids
}

export async function getMany<V>(sublevel: JsonLevel<V>, keys: string[]): Promise<V[]> {
  if (keys.length === 0) return []
  const values = await sublevel.getMany(keys)
  return values.filter((v): v is Awaited<V> => v !== undefined) as V[]
}
