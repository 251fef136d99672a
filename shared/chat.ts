/**
 * The chat document: an append-only list of immutable messages.
 *
 *   doc.getArray('messages'): Y.Array<ChatMessage>   (plain JSON values)
 *
 * List order is the conversation order, including messages merged from offline clients.
 * Readers treat the document as untrusted and skip malformed entries.
 */
import type * as Y from 'yjs'
import { newId } from './ids.ts'

export const MESSAGES_KEY = 'messages'
/** Text and name lengths are in characters as `charCount` counts them (the REST schema's maxLength). */
export const CHAT_LIMITS = { maxTextLength: 4000, maxNameLength: 80, maxPage: 200 } as const

export interface ChatMessage {
  id: string
  author: string
  authorName: string
  text: string
  /** Milliseconds since the epoch, set by the poster's clock. */
  time: number
}

export interface NewMessage {
  author: string
  authorName: string
  text: string
  id?: string
  time?: number
}

export interface MessagePage {
  messages: ChatMessage[]
  /** Pass as `before` to get the previous page; null when this page reaches the start. */
  nextBefore: string | null
}

export function messagesOf(doc: Y.Doc): Y.Array<unknown> {
  return doc.getArray<unknown>(MESSAGES_KEY)
}

/**
 * Characters as JSON Schema's maxLength counts them, and so the REST schema: code points, a
 * surrogate pair (an emoji) being one. `.length` counts UTF-16 units, up to twice as many, so
 * every limit on chat text is checked with this, or REST and the document rules disagree.
 */
export function charCount(text: string): number {
  let count = text.length
  for (let i = 0; i < text.length - 1; i++) {
    if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) {
      count--
      i++
    }
  }
  return count
}

/** charCount(text) <= max, without counting texts too long (or short) in UTF-16 units to be in doubt. */
export function withinChars(text: string, max: number): boolean {
  if (text.length <= max) return true
  return text.length <= 2 * max && charCount(text) <= max
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff
}

export function assertValidMessage(message: NewMessage): void {
  const text = message.text.trim()
  if (text.length === 0 || !withinChars(text, CHAT_LIMITS.maxTextLength)) {
    throw new Error(`text must be 1..${CHAT_LIMITS.maxTextLength} characters`)
  }
  if (!withinChars(message.authorName, CHAT_LIMITS.maxNameLength)) throw new Error('author name too long')
}

export function postMessage(doc: Y.Doc, input: NewMessage): ChatMessage {
  assertValidMessage(input)
  const message: ChatMessage = {
    id: input.id ?? newId(),
    author: input.author,
    authorName: input.authorName,
    text: input.text.trim(),
    time: input.time ?? Date.now(),
  }
  messagesOf(doc).push([message])
  return message
}

export function readMessage(value: unknown): ChatMessage | null {
  if (typeof value !== 'object' || value === null) return null
  const { id, author, authorName, text, time } = value as Record<string, unknown>
  if (typeof id !== 'string' || typeof author !== 'string' || typeof text !== 'string') return null
  if (typeof time !== 'number' || !Number.isFinite(time)) return null
  return { id, author, authorName: typeof authorName === 'string' ? authorName : '', text, time }
}

export function readAllMessages(doc: Y.Doc): ChatMessage[] {
  const messages: ChatMessage[] = []
  for (const value of messagesOf(doc)) {
    const message = readMessage(value)
    if (message) messages.push(message)
  }
  return messages
}

/**
 * A page of messages, oldest first, ending just before the message `before` (or at the newest).
 * An unknown `before` id yields an empty page rather than a wrong one.
 */
export function readMessages(doc: Y.Doc, options: { limit?: number; before?: string } = {}): MessagePage {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), CHAT_LIMITS.maxPage)
  const all = readAllMessages(doc)
  const end = options.before === undefined ? all.length : all.findIndex((m) => m.id === options.before)
  if (end < 0) return { messages: [], nextBefore: null }
  const start = Math.max(0, end - limit)
  const messages = all.slice(start, end)
  return { messages, nextBefore: start > 0 && messages[0] ? messages[0].id : null }
}
