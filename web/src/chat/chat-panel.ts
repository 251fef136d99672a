/**
 * The group chat, live from the chat document: history is read from the document (which
 * IndexedDB keeps offline), posts go into it with `postMessage` and sync like any other edit,
 * so chatting works offline too. Messages are list items (`data-testid="chat-message"`).
 */
import type * as Y from 'yjs'
import { CHAT_LIMITS, postMessage, readAllMessages, type ChatMessage } from '../../../shared/chat.ts'
import { Disposer, frameScheduler, h, type View } from '../dom.ts'

export interface ChatOptions {
  doc: Y.Doc
  user: { id: string; name: string }
  readOnly: boolean
  /** The server's name for a user id (never the name a message carries). */
  nameOf(userId: string): string | undefined
  onNamesChange(listener: () => void): () => void
  /** Messages from others arrived (for an unread count while the chat is out of sight). */
  onNew?(count: number): void
}

/** Messages shown at first; "Show earlier" reveals this many more each time. */
const PAGE = 100

export function chatPanel(options: ChatOptions): View {
  const disposer = new Disposer()
  const list = h('ol', { class: 'messages', 'data-testid': 'chat-messages', 'aria-live': 'polite' })
  const earlier = h('button', { type: 'button', class: 'link', 'data-testid': 'chat-earlier', hidden: true }, 'Show earlier messages')
  let visible = PAGE
  let known: Set<string> | null = null
  const render = frameScheduler(() => {
    const messages = inTimeOrder(readAllMessages(options.doc))
    const fresh = known === null ? 0 : messages.filter((m) => !known!.has(m.id) && m.author !== options.user.id).length
    known = new Set(messages.map((m) => m.id))
    renderMessages(list, earlier, messages, visible, options.nameOf)
    if (fresh > 0) options.onNew?.(fresh)
  })
  disposer.add(options.onNamesChange(() => render.schedule()))
  disposer.add(() => render.cancel())
  earlier.addEventListener('click', () => {
    visible += PAGE
    render.schedule()
  })
  const onUpdate = (): void => render.schedule()
  options.doc.on('update', onUpdate)
  disposer.add(() => options.doc.off('update', onUpdate))
  render.schedule()
  const element = h('section', { class: 'chat', 'aria-label': 'Chat' }, h('h2', {}, 'Chat'), earlier, list, composer(options))
  return { element, dispose: () => disposer.dispose() }
}

function renderMessages(list: HTMLElement, earlier: HTMLButtonElement, messages: ChatMessage[], visible: number, nameOf: ChatOptions['nameOf']): void {
  const stuckToBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24
  const shown = messages.slice(Math.max(0, messages.length - visible))
  const items: HTMLLIElement[] = []
  let day = ''
  for (const message of shown) {
    const label = dayLabel(message.time)
    if (label !== day) items.push(h('li', { class: 'day-separator', 'data-testid': 'chat-day', role: 'separator' }, label))
    day = label
    items.push(messageItem(message, nameOf(message.author)))
  }
  list.replaceChildren(...items)
  earlier.hidden = shown.length === messages.length
  list.dataset.count = String(messages.length)
  if (stuckToBottom) list.scrollTop = list.scrollHeight
}

/**
 * Messages by the time they were written (ties by id), not by arrival: one written offline at
 * 02:26:05 shows before another's of 02:26:06, whenever it reached the server.
 */
export function inTimeOrder(messages: ChatMessage[]): ChatMessage[] {
  return [...messages].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** "Today", "Yesterday", or the date, in this browser's time zone. */
export function dayLabel(time: number, now = Date.now()): string {
  const date = new Date(time)
  if (Number.isNaN(date.getTime())) return ''
  const start = (d: Date): number => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
  const days = Math.round((start(new Date(now)) - start(date)) / 86_400_000)
  if (days === 0) return 'Today'
  if (days === 1) return 'Yesterday'
  return date.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' })
}

/** The author is named as the server knows them; a name written into the message is ignored. */
function messageItem(message: ChatMessage, authorName: string | undefined): HTMLLIElement {
  const time = new Date(message.time)
  return h('li', { class: 'message', 'data-testid': 'chat-message', 'data-id': message.id, 'data-author': message.author },
    h('span', { class: 'message-author' }, authorName ?? 'Former member'),
    h('time', { datetime: Number.isNaN(time.getTime()) ? undefined : time.toISOString() }, Number.isNaN(time.getTime()) ? '' : time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })),
    h('span', { class: 'message-text' }, message.text))
}

function composer(options: ChatOptions): HTMLElement {
  if (options.readOnly) return h('p', { class: 'note' }, 'You are a viewer: you can read, not post.')
  const input = h('input', { type: 'text', name: 'text', maxlength: CHAT_LIMITS.maxTextLength, placeholder: 'Write a message', autocomplete: 'off', 'aria-label': 'Message', 'data-testid': 'chat-input' })
  const form = h('form', { class: 'composer' }, input, h('button', { type: 'submit', 'data-testid': 'chat-send' }, 'Send'))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (input.value.trim() === '') return
    postMessage(options.doc, { author: options.user.id, authorName: options.user.name, text: input.value })
    input.value = ''
  })
  return form
}
