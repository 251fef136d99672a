/**
 * Rolling back one person on the chat removes only messages they wrote: the struct ranges
 * credited to them (edit records, or what the room holds unrecorded) say where their edits were,
 * the message's `author` says whose it is. Ranges that wrongly cover another user's message (an
 * update of theirs passed on her content) must not make her message go.
 * Unit level: history-ops on real Y.Docs, as the doc worker runs it.
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { rollbackUser, type UserEdits } from '../../server/history/history-ops.ts'

const ALICE = 'alice-user-id'
const BOB = 'bob-user-id'
const NO_DELETES = Y.encodeStateAsUpdate(new Y.Doc())

/** The struct range a document's own client wrote: [client, 0, end). */
function rangeOf(doc: Y.Doc): [number, number, number] {
  return [doc.clientID, 0, Y.getState(doc.store, doc.clientID)]
}

it('rolls back Bob\'s messages but not Alice\'s, even when Bob\'s recorded ranges cover hers', () => {
  const aliceDoc = new Y.Doc()
  aliceDoc.clientID = 101
  const bobDoc = new Y.Doc()
  bobDoc.clientID = 202
  postMessage(aliceDoc, { author: ALICE, authorName: 'Alice', text: 'hello from alice' })
  Y.applyUpdate(bobDoc, Y.encodeStateAsUpdate(aliceDoc))
  postMessage(bobDoc, { author: BOB, authorName: 'Bob', text: 'spam from bob' })
  postMessage(bobDoc, { author: BOB, authorName: 'Bob', text: 'more spam' })

  // The live document, as the server materializes it.
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(bobDoc))
  expect(readAllMessages(doc).map((m) => m.author)).toEqual([ALICE, BOB, BOB])

  // What history credits to Bob: his own range, and (wrongly) the range of Alice's message, e.g.
  // because an update of his passed on her message.
  const edits: UserEdits = { created: [rangeOf(bobDoc), rangeOf(aliceDoc)], deleted: NO_DELETES }
  let result!: ReturnType<typeof rollbackUser>
  doc.transact(() => {
    result = rollbackUser(doc, 'chat', { user: BOB, edits, createdSince: edits.created, baseline: null, copies: [] }, [])
  })

  const left = readAllMessages(doc)
  expect(left.map((m) => m.text)).toEqual(['hello from alice'])
  expect(left[0]!.author).toBe(ALICE)
  expect(result.removed).toHaveLength(2)
  expect(result.removed.every((r) => r.kind === 'message')).toBe(true)
  expect(result.restored).toEqual([])
})

it('leaves Alice\'s messages alone when only her range is (wrongly) credited to Bob', () => {
  const aliceDoc = new Y.Doc()
  aliceDoc.clientID = 303
  postMessage(aliceDoc, { author: ALICE, authorName: 'Alice', text: 'one' })
  postMessage(aliceDoc, { author: ALICE, authorName: 'Alice', text: 'two' })
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(aliceDoc))
  let result!: ReturnType<typeof rollbackUser>
  doc.transact(() => {
    result = rollbackUser(doc, 'chat', { user: BOB, edits: { created: [rangeOf(aliceDoc)], deleted: NO_DELETES }, createdSince: [rangeOf(aliceDoc)], baseline: null, copies: [] }, [])
  })
  expect(result.removed).toEqual([])
  expect(readAllMessages(doc).map((m) => m.text)).toEqual(['one', 'two'])
})
