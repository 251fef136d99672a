/**
 * What a person keeps when access is gone: the canvas as a PNG (the whole drawing, fitted, from
 * this browser's copy) and the text of their messages the server never acknowledged.
 */
import type * as Y from 'yjs'
import { readStrokes } from '../../../shared/canvas.ts'
import { strokeBounds } from '../../../shared/canvas-svg.ts'
import { messagesOf, readMessage } from '../../../shared/chat.ts'
import type { PendingChanges } from '../collab/pending-changes.ts'
import { paint } from '../canvas/render.ts'

const MARGIN = 16
const MAX_SIDE = 4096

export function exportCanvasPng(doc: Y.Doc, groupName: string): void {
  const strokes = readStrokes(doc)
  const bounds = strokeBounds(strokes) ?? { minX: 0, minY: 0, maxX: 400, maxY: 300 }
  const inkWidth = bounds.maxX - bounds.minX + 2 * MARGIN
  const inkHeight = bounds.maxY - bounds.minY + 2 * MARGIN
  const scale = Math.min(1, MAX_SIDE / inkWidth, MAX_SIDE / inkHeight)
  const canvas = document.createElement('canvas')
  canvas.width = Math.max(1, Math.round(inkWidth * scale))
  canvas.height = Math.max(1, Math.round(inkHeight * scale))
  const context = canvas.getContext('2d')
  if (!context) return
  paint(context, strokes, { width: canvas.width, height: canvas.height, ratio: 1 }, { scale, x: (MARGIN - bounds.minX) * scale, y: (MARGIN - bounds.minY) * scale })
  canvas.toBlob((blob) => { if (blob) download(blob, `${fileName(groupName)}-canvas.png`) }, 'image/png')
}

/** My messages whose insertion the server has not acknowledged (by the save tracker's pending ranges). */
export function unsentMessages(doc: Y.Doc, user: string, pending: PendingChanges): Array<{ text: string; time: number }> {
  const waiting = pending.waiting.structs
  const isPending = (client: number, clock: number): boolean => waiting.some(([c, start, end]) => c === client && clock >= start && clock < end)
  const unsent: Array<{ text: string; time: number }> = []
  for (let item = messagesOf(doc)._start; item !== null; item = item.right) {
    if (item.deleted) continue
    item.content.getContent().forEach((content: unknown, offset: number) => {
      const message = readMessage(content)
      if (message && message.author === user && isPending(item!.id.client, item!.id.clock + offset)) unsent.push({ text: message.text, time: message.time })
    })
  }
  return unsent
}

export function exportUnsentMessages(doc: Y.Doc, user: string, pending: PendingChanges, groupName: string): void {
  const unsent = unsentMessages(doc, user, pending)
  const text = unsent.length === 0
    ? 'Every message you wrote here reached the server.\n'
    : unsent.map((m) => `[${new Date(m.time).toLocaleString()}] ${m.text}`).join('\n') + '\n'
  download(new Blob([text], { type: 'text/plain;charset=utf-8' }), `${fileName(groupName)}-unsent-messages.txt`)
}

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

function fileName(name: string): string {
  return name.replace(/[^\p{L}\p{N}_-]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'group'
}
