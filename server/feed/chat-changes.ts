/**
 * Chat events from the updates a compaction folds, each already cut to what the document lacked
 * (so a message resent after a reconnect is not new): every message is a JSON value in the
 * `messages` array (the chat rules allow nothing else), so an `any` item without a map key is a
 * message; a deletion names messages through the item index.
 */
import { readMessage } from '../../shared/chat.ts'
import type { TimedUpdate } from '../history/edit-records.ts'
import type { NewEvent } from '../storage/feed-types.ts'
import type { ItemIndex } from './item-index.ts'
import { readUpdate } from './structs.ts'

export async function chatChanges(updates: readonly TimedUpdate[], index: ItemIndex, yieldDue: () => Promise<void>): Promise<NewEvent[]> {
  const events: NewEvent[] = []
  for (const { at, writer, update } of updates) {
    const read = readUpdate(update)
    if (!read) continue
    for (const item of read.items) {
      if (item.content.kind !== 'any' || item.parentSub !== null) continue
      for (const [i, value] of item.content.values.entries()) {
        const message = readMessage(value)
        if (!message) continue
        index.put({ kind: 'message', client: item.client, start: item.clock + i, end: item.clock + i + 1, id: message.id, author: message.author })
        events.push({ key: `chat.created:${message.id}`, type: 'chat.message.created', at, actor: writer || message.author, data: { message: { id: message.id, author: message.author, text: message.text, time: message.time } } })
      }
    }
    for (const range of read.deleted) {
      for (const item of await index.within('message', range.client, range.clock, range.clock + range.length)) {
        index.drop(item)
        events.push({ key: `chat.deleted:${item.id}`, type: 'chat.message.deleted', at, actor: writer || null, data: { message: { id: item.id, author: item.author }, deletedBy: writer || null } })
      }
    }
    await yieldDue()
  }
  return events
}
