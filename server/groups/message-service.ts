/**
 * Chat over REST, read from and written to the group's chat document through its hot room, so
 * connected clients see a posted message live. Posting with a client-chosen id is idempotent,
 * which makes retrying after a 503 safe.
 */
import { postMessage, readAllMessages, readMessages, type ChatMessage, type MessagePage } from '../../shared/chat.ts'
import { roomName } from '../../shared/rooms.ts'
import type { Room } from '../collab/room.ts'
import { LogUnavailableError } from '../collab/room.ts'
import type { RoomRegistry } from '../collab/room-registry.ts'
import { unavailable } from '../errors.ts'
import type { AccessCache } from './access-cache.ts'
import { requireRole } from './guard.ts'

export interface MessageDeps {
  access: AccessCache
  registry: RoomRegistry
}

export class MessageService {
  private readonly deps: MessageDeps

  constructor(deps: MessageDeps) {
    this.deps = deps
  }

  async page(actor: string, groupId: string, query: { limit?: number; before?: string }): Promise<MessagePage> {
    await requireRole(this.deps.access, groupId, actor, 'viewer')
    return this.withChat(groupId, async (room) => readMessages(room.doc, query))
  }

  /** Returns the message and whether it was created now (false: the id was already posted). */
  async post(actor: { userId: string; name: string }, groupId: string, input: { text: string; id?: string }): Promise<{ message: ChatMessage; created: boolean }> {
    await requireRole(this.deps.access, groupId, actor.userId, 'editor')
    return this.withChat(groupId, async (room) => {
      const existing = input.id === undefined ? undefined : readAllMessages(room.doc).find((m) => m.id === input.id)
      if (existing) return { message: existing, created: false }
      try {
        const message = await room.serverWrite((doc) => postMessage(doc, { author: actor.userId, authorName: actor.name, text: input.text, ...(input.id !== undefined && { id: input.id }) }))
        return { message, created: true }
      } catch (error) {
        if (error instanceof LogUnavailableError) throw unavailable('the message could not be stored; retry with the same id')
        throw error
      }
    })
  }

  private async withChat<T>(groupId: string, use: (room: Room) => Promise<T>): Promise<T> {
    let room: Room
    try {
      room = await this.deps.registry.acquire(roomName(groupId, 'chat'))
    } catch {
      throw unavailable('chat history is unavailable right now')
    }
    try {
      return await use(room)
    } finally {
      this.deps.registry.release(room)
    }
  }
}
