/**
 * Chat over REST, read from and written to the group's chat document through its hot room (in the
 * doc worker), so connected clients see a posted message live. A post is logged before it is
 * applied, served or acknowledged, exactly like a socket's update; posting with a client-chosen
 * id is idempotent, which makes retrying after a 503 safe. Authors are shown by the names the
 * server knows, never by a name written into the document.
 */
import type { ChatMessage, MessagePage } from '../../shared/chat.ts'
import { newId } from '../../shared/ids.ts'
import { roomName } from '../../shared/rooms.ts'
import { LogUnavailableError, PostBudgetError, type Room } from '../collab/room/room.ts'
import { DocumentFullError } from '../log/types.ts'
import type { RoomRegistry } from '../collab/room/room-registry.ts'
import { payloadTooLarge, rateLimited, unavailable } from '../errors.ts'
import type { UserStore } from '../storage/types.ts'
import type { AccessCache } from './access-cache.ts'
import { requireRole } from './guard.ts'

export interface MessageDeps {
  access: AccessCache
  registry: RoomRegistry
  users: UserStore
}

/** How long a 503 tells the client to wait before retrying. */
export const RETRY_AFTER_SECONDS = 2
/** How long a 429 for the post budget tells the client to wait (the budget refills about one a second). */
const POST_RETRY_AFTER_SECONDS = 2

export class MessageService {
  private readonly deps: MessageDeps

  constructor(deps: MessageDeps) {
    this.deps = deps
  }

  async page(actor: string, groupId: string, query: { limit?: number; before?: string }): Promise<MessagePage> {
    await requireRole(this.deps.access, groupId, actor, 'viewer')
    const page = await this.withChat(groupId, (room) => room.read({ kind: 'messages', ...query }))
    return { ...page, messages: await this.withServerNames(page.messages) }
  }

  /** Returns the message and whether it was created now (false: the id was already posted). */
  async post(actor: { userId: string; name: string }, groupId: string, input: { text: string; id?: string }): Promise<{ message: ChatMessage; created: boolean }> {
    const access = await requireRole(this.deps.access, groupId, actor.userId, 'editor')
    const message = { author: actor.userId, authorName: actor.name, text: input.text, id: input.id ?? newId(), time: Date.now() }
    const posted = await this.withChat(groupId, async (room) => {
      try {
        return await room.edit<'post'>({ userId: actor.userId, role: access.role ?? 'editor' }, { kind: 'post', message })
      } catch (error) {
        if (error instanceof LogUnavailableError) throw unavailable('the message could not be stored; retry with the same id', RETRY_AFTER_SECONDS)
        if (error instanceof DocumentFullError) throw payloadTooLarge('the chat has reached its size limit (MAX_DOC_BYTES)')
        if (error instanceof PostBudgetError) throw rateLimited('you posted more chat messages than CHAT_MESSAGE_BURST allows at once; wait a little', POST_RETRY_AFTER_SECONDS)
        throw error
      }
    })
    // Logged: the answer needs nothing more from storage (the poster's name is the principal's).
    return { message: { ...posted.message, authorName: actor.name }, created: posted.created }
  }

  /** Names as the server knows them now; while storage cannot say, the names the messages carry. */
  private async withServerNames(messages: ChatMessage[]): Promise<ChatMessage[]> {
    const authors = [...new Set(messages.map((m) => m.author))]
    let users: Array<{ id: string; name: string }>
    try {
      users = await this.deps.users.byIds(authors)
    } catch {
      return messages
    }
    const names = new Map(users.map((u) => [u.id, u.name]))
    return messages.map((m) => ({ ...m, authorName: names.get(m.author) ?? m.authorName }))
  }

  private async withChat<T>(groupId: string, use: (room: Room) => Promise<T>): Promise<T> {
    let room: Room
    try {
      room = await this.deps.registry.acquire(roomName(groupId, 'chat'))
    } catch {
      throw unavailable('chat history is unavailable right now', RETRY_AFTER_SECONDS)
    }
    try {
      return await use(room)
    } finally {
      this.deps.registry.release(room)
    }
  }
}
