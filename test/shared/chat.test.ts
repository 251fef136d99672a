import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { messagesOf, postMessage, readAllMessages, readMessages } from '../../shared/chat.ts'

function chatWith(count: number): Y.Doc {
  const doc = new Y.Doc()
  for (let i = 0; i < count; i++) postMessage(doc, { id: `m${i}`, author: 'u', authorName: 'U', text: `message ${i}`, time: 1000 + i })
  return doc
}

describe('chat schema', () => {
  it('posts messages with trimmed text and reads them in order', () => {
    const doc = new Y.Doc()
    const message = postMessage(doc, { author: 'u1', authorName: 'Ann', text: '  hi  ' })
    expect(message.text).toBe('hi')
    expect(readAllMessages(doc)).toEqual([message])
  })

  it('rejects empty and oversized text', () => {
    const doc = new Y.Doc()
    expect(() => postMessage(doc, { author: 'u', authorName: 'U', text: '   ' })).toThrow()
    expect(() => postMessage(doc, { author: 'u', authorName: 'U', text: 'x'.repeat(4001) })).toThrow()
  })

  it('pages backwards from the newest message', () => {
    const doc = chatWith(7)
    const newest = readMessages(doc, { limit: 3 })
    expect(newest.messages.map((m) => m.id)).toEqual(['m4', 'm5', 'm6'])
    expect(newest.nextBefore).toBe('m4')
    const older = readMessages(doc, { limit: 3, before: 'm4' })
    expect(older.messages.map((m) => m.id)).toEqual(['m1', 'm2', 'm3'])
    const oldest = readMessages(doc, { limit: 3, before: 'm1' })
    expect(oldest).toEqual({ messages: [readAllMessages(doc)[0]], nextBefore: null })
    expect(readMessages(doc, { before: 'unknown' })).toEqual({ messages: [], nextBefore: null })
  })

  it('skips malformed entries', () => {
    const doc = chatWith(1)
    messagesOf(doc).push([{ id: 1, text: 'no' }, 'string', null])
    expect(readAllMessages(doc).map((m) => m.id)).toEqual(['m0'])
  })
})
