/**
 * Chat events from the updates a compaction folds, each already cut to what the document lacked
 * (so a message resent after a reconnect is not new): every message is a JSON value in the
 * `messages` array (the chat rules allow nothing else), so an `any` item without a map key is a
 * message; a deletion names messages through the item index.
 *
 * Two nodes may both take a message id at the same moment; the chat rules then keep the first in
 * log order and delete the other. The other is indexed as a duplicate (no id), so neither its
 * arrival nor that deletion is an event.
 */
import { readMessage, type ChatMessage } from '../../shared/chat.ts'
import type { TimedUpdate } from '../history/edit-records.ts'
import type { NewEvent } from '../storage/feed-types.ts'
import type { ItemIndex } from './item-index.ts'
import { readUpdate, type ItemView } from './structs.ts'

export async function chatChanges(updates: readonly TimedUpdate[], index: ItemIndex, recordedKeys: (keys: string[]) => Promise<Set<string>>, yieldDue: () => Promise<void>): Promise<NewEvent[]> {
  const events: NewEvent[] = []
  const seen = new Set<string>()
  const reads: Array<ReturnType<typeof readUpdate>> = []
  for (const { update } of updates) {
    reads.push(readUpdate(update))
    await yieldDue()
  }
  // Which messages were recorded before (a duplicate id, or a retried compaction), in one query.
  const recorded = await recordedKeys(reads.flatMap((read) => read?.items.flatMap(messagesIn).map((m) => createdKey(m.id)) ?? []))
  for (const [n, { at, writer }] of updates.entries()) {
    const read = reads[n]
    if (!read) continue
    for (const item of read.items) {
      if (item.content.kind !== 'any' || item.parentSub !== null) continue
      for (const [i, value] of item.content.values.entries()) {
        const message = readMessage(value)
        if (!message) continue
        const key = createdKey(message.id)
        const start = item.clock + i
        // Indexed already: a compaction retried after it stored the index; the event is made again (its key makes it once).
        const indexed = await index.at('message', item.client, start)
        const duplicate = indexed ? indexed.id === '' : seen.has(key) || recorded.has(key)
        seen.add(key)
        if (!indexed) index.put({ kind: 'message', client: item.client, start, end: start + 1, id: duplicate ? '' : message.id, author: message.author })
        if (!duplicate) events.push({ key, type: 'chat.message.created', at, actor: writer || message.author, data: { message: { id: message.id, author: message.author, text: message.text, time: message.time } } })
      }
    }
    for (const range of read.deleted) {
      for (const item of await index.within('message', range.client, range.clock, range.clock + range.length)) {
        index.drop(item)
        if (item.id === '') continue // a duplicate the rules removed
        events.push({ key: `chat.deleted:${item.id}`, type: 'chat.message.deleted', at, actor: writer || null, data: { message: { id: item.id, author: item.author }, deletedBy: writer || null } })
      }
    }
    await yieldDue()
  }
  return events
}

function createdKey(id: string): string {
  return `chat.created:${id}`
}

/** The messages an item holds (an `any` item without a map key). */
function messagesIn(item: ItemView): ChatMessage[] {
  if (item.content.kind !== 'any' || item.parentSub !== null) return []
  return item.content.values.map(readMessage).filter((m): m is ChatMessage => m !== null)
}
