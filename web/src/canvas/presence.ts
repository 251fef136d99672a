/**
 * Presence over awareness: each client publishes `user: {name, color}` and `cursor: {x, y} | null`
 * in document coordinates (the ones strokes are stored in), so a cursor points at the same ink
 * whatever each person's zoom and pan. Other clients' states are untrusted input and are
 * checked field by field.
 */
import type { Awareness } from 'y-protocols/awareness'
import { CHAT_LIMITS } from '../../../shared/chat.ts'
import { isColor } from '../../../shared/canvas.ts'
import { frameScheduler, h, type View } from '../dom.ts'
import type { Viewport } from './viewport.ts'

export interface Peer {
  clientId: number
  name: string
  color: string
  cursor: { x: number; y: number } | null
}

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#008080', '#9a6324', '#800000', '#000075', '#f032e6']

/** A stable colour per user, so someone looks the same in every tab and session. */
export function colorFor(userId: string): string {
  let hash = 0
  for (const char of userId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  return PALETTE[hash % PALETTE.length] as string
}

export function peers(awareness: Awareness): Peer[] {
  const found: Peer[] = []
  for (const [clientId, state] of awareness.getStates()) {
    if (clientId === awareness.clientID) continue
    const peer = readPeer(clientId, state)
    if (peer) found.push(peer)
  }
  return found
}

function readPeer(clientId: number, state: Record<string, unknown>): Peer | null {
  const user = state.user as { name?: unknown; color?: unknown } | undefined
  if (typeof user?.name !== 'string' || !isColor(user.color)) return null
  return { clientId, name: user.name.slice(0, CHAT_LIMITS.maxNameLength), color: user.color, cursor: readCursor(state.cursor) }
}

function readCursor(value: unknown): Peer['cursor'] {
  const cursor = value as { x?: unknown; y?: unknown } | null | undefined
  const { x, y } = cursor ?? {}
  return typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y) ? { x, y } : null
}

/** Publishes the local cursor at most once per frame (pointer moves come much faster). */
export function cursorPublisher(awareness: Awareness): { move(x: number, y: number): void; hide(): void; cancel(): void } {
  let next: Peer['cursor'] = null
  const frame = frameScheduler(() => awareness.setLocalStateField('cursor', next))
  return {
    move: (x, y) => {
      next = { x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10 } // a tenth: exact enough when zoomed in
      frame.schedule()
    },
    hide: () => {
      next = null
      frame.schedule()
    },
    cancel: () => frame.cancel(),
  }
}

/** Other people's cursors with their names, drawn over the canvas where the view shows that point. */
export function cursorLayer(awareness: Awareness, viewport: Viewport): View {
  const element = h('div', { class: 'cursors', 'aria-hidden': 'true' })
  const render = (): void => {
    element.replaceChildren(...peers(awareness).filter((p) => p.cursor).map((peer) => cursorElement(peer, viewport)))
  }
  awareness.on('change', render)
  const stopFollowing = viewport.onChange(render)
  render()
  return { element, dispose: () => { awareness.off('change', render); stopFollowing() } }
}

function cursorElement(peer: Peer, viewport: Viewport): HTMLElement {
  const element = h('div', { class: 'cursor', 'data-testid': 'remote-cursor', 'data-name': peer.name }, h('span', { class: 'cursor-name' }, peer.name))
  const [x, y] = viewport.toScreen([peer.cursor?.x ?? 0, peer.cursor?.y ?? 0])
  element.style.transform = `translate(${x}px, ${y}px)`
  element.style.setProperty('--peer-color', peer.color)
  return element
}

/** Who else has the group open. */
export function peerList(awareness: Awareness): View {
  const element = h('ul', { class: 'peers', 'data-testid': 'peers', 'aria-label': 'People here' })
  const render = (): void => {
    element.replaceChildren(...peers(awareness).map((peer) => {
      const item = h('li', { class: 'peer', 'data-testid': 'peer' }, peer.name)
      item.style.setProperty('--peer-color', peer.color)
      return item
    }))
  }
  awareness.on('change', render)
  render()
  return { element, dispose: () => awareness.off('change', render) }
}
