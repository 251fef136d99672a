/**
 * An update's items and deletions as change detection reads them (Yjs's own decoder: compaction
 * runs off the hot path, and these updates were validated when they were accepted).
 */
import * as Y from 'yjs'

export interface ItemView {
  client: number
  clock: number
  length: number
  /** The parent when the update names it: a root type's name, or the item holding the type. */
  parent: string | { client: number; clock: number } | null
  parentSub: string | null
  origin: { client: number; clock: number } | null
  rightOrigin: { client: number; clock: number } | null
  content: { kind: 'any'; values: unknown[] } | { kind: 'map' } | { kind: 'array' } | { kind: 'other' }
}

export interface DeletedRange {
  client: number
  clock: number
  length: number
}

/** Decodes one update; null when it cannot be read (then it yields no events, and the log keeps it). */
export function readUpdate(update: Uint8Array): { items: ItemView[]; deleted: DeletedRange[] } | null {
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(update)
  } catch {
    return null
  }
  const items: ItemView[] = []
  for (const struct of decoded.structs) if (struct instanceof Y.Item) items.push(viewOf(struct))
  const deleted: DeletedRange[] = []
  for (const [client, ranges] of decoded.ds.clients) for (const range of ranges) deleted.push({ client, clock: range.clock, length: range.len })
  return { items, deleted }
}

function viewOf(item: Y.Item): ItemView {
  const parent = item.parent as unknown
  return {
    client: item.id.client,
    clock: item.id.clock,
    length: item.length,
    parent: typeof parent === 'string' ? parent : parent instanceof Y.ID ? { client: parent.client, clock: parent.clock } : null,
    parentSub: item.parentSub,
    origin: item.origin ? { client: item.origin.client, clock: item.origin.clock } : null,
    rightOrigin: item.rightOrigin ? { client: item.rightOrigin.client, clock: item.rightOrigin.clock } : null,
    content: contentOf(item.content),
  }
}

function contentOf(content: Y.Item["content"]): ItemView['content'] {
  if (content instanceof Y.ContentAny) return { kind: 'any', values: content.arr }
  if (content instanceof Y.ContentType) return content.type instanceof Y.Map ? { kind: 'map' } : content.type instanceof Y.Array ? { kind: 'array' } : { kind: 'other' }
  return { kind: 'other' }
}
