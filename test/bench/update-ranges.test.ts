/**
 * The lean generator's reader: for any real Yjs update framed as a y-websocket (or Hocuspocus)
 * message, it reports exactly the clock range Yjs's own decoder sees per client, and it refuses
 * truncated frames instead of reading past them.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { FrameFormatError, readUpdateRanges } from '../../bench/lib/lean/update-ranges.ts'
import * as decoding from 'lib0/decoding'
import { makeWriterFrames, updateMessage, type WriterFrames } from '../../bench/lib/lean/writer-frames.ts'
import { sampleUpdates } from '../helpers/sample-updates.ts'

type Range = [client: number, start: number, end: number]

function rangesOf(message: Uint8Array, prefixed = false): Range[] | null {
  const ranges: Range[] = []
  return readUpdateRanges(message, 0, message.length, prefixed, (c, s, e) => ranges.push([c, s, e])) ? ranges : null
}

/** What Yjs itself decodes: per client, first struct's clock to last struct's end. */
function yjsRanges(update: Uint8Array): Range[] {
  const byClient = new Map<number, Range>()
  for (const struct of Y.decodeUpdate(update).structs) {
    const range = byClient.get(struct.id.client) ?? [struct.id.client, struct.id.clock, struct.id.clock]
    range[2] = struct.id.clock + struct.length
    byClient.set(struct.id.client, range)
  }
  return [...byClient.values()]
}

const sortRanges = (ranges: Range[] | null): Range[] => [...(ranges ?? [])].sort((a, b) => a[0] - b[0])

describe('readUpdateRanges', () => {
  it('matches Yjs on every content kind, multi-client updates and UTF-16 string lengths', () => {
    const other = new Y.Doc()
    other.getText('t').insert(0, 'a😀b\u00e9') // 5 UTF-16 units, 9 UTF-8 bytes
    const updates = [...sampleUpdates(), Y.encodeStateAsUpdate(other)]
    const merged = Y.mergeUpdates(updates)
    for (const update of [...updates, merged]) {
      expect(sortRanges(rangesOf(updateMessage(update)))).toEqual(sortRanges(yjsRanges(update)))
    }
    expect(rangesOf(updateMessage(Y.encodeStateAsUpdate(other)))).toEqual([[other.clientID, 0, 5]])
  })

  it('gives each precomputed edit the range up to the next one; the edits apply in order with nothing pending', () => {
    const frames = makeWriterFrames(4242, 450)
    const doc = new Y.Doc()
    for (let i = 0; i < frames.count; i++) {
      const message = messageOf(frames, i)
      const [range, ...others] = rangesOf(message)!
      Y.applyUpdate(doc, updateOf(message))
      expect(others).toEqual([])
      expect(range).toEqual([4242, frames.clocks[i], Y.getState(doc.store, 4242)])
      expect(doc.store.pendingStructs).toBeNull()
    }
  })

  it('covers every edit a server applied in one transaction and relayed as one update', () => {
    const frames = makeWriterFrames(77, 20)
    const server = new Y.Doc()
    const relayed: Uint8Array[] = []
    server.on('update', (update: Uint8Array) => relayed.push(update))
    server.transact(() => { for (let i = 0; i < 5; i++) Y.applyUpdate(server, updateOf(messageOf(frames, i))) })
    server.transact(() => { for (let i = 5; i < 12; i++) Y.applyUpdate(server, updateOf(messageOf(frames, i))) })
    expect(relayed.map((u) => rangesOf(updateMessage(u)))).toEqual([[[77, 0, frames.clocks[5]]], [[77, frames.clocks[5], frames.clocks[12]]]])
  })

  it('skips a Hocuspocus document name first when told to', () => {
    const frames = makeWriterFrames(9, 3, 'bench', 'room-7')
    expect(rangesOf(messageOf(frames, 2), true)).toEqual([[9, frames.clocks[2], frames.clocks[2]! + 2]])
  })

  it('says no to messages without an update', () => {
    expect(rangesOf(new Uint8Array([0, 0, 1, 0]))).toBeNull() // sync step 1
    expect(rangesOf(new Uint8Array([1, 1, 0]))).toBeNull() // awareness
  })

  it('refuses every truncation of an update and every declared length past the end', () => {
    const message = updateMessage(Y.mergeUpdates(sampleUpdates()))
    for (let cut = 3; cut < message.length; cut++) {
      expect(() => rangesOf(message.subarray(0, cut)), `cut at ${cut}`).toThrow(FrameFormatError)
    }
    const lying = new Uint8Array([0, 2, 5, 1, 200, 200, 200, 1]) // claims more structs than fit
    expect(() => rangesOf(lying)).toThrow(FrameFormatError)
  })
})

/** The y-websocket message inside precomputed client frame i (header, zero mask, payload). */
function messageOf(frames: WriterFrames, i: number): Uint8Array {
  const frame = frames.wire.subarray(frames.offsets[i]!, frames.offsets[i + 1]!)
  const length = frame[1]! & 0x7f
  const header = length < 126 ? 2 : length === 126 ? 4 : 10
  expect(frame.subarray(header, header + 4)).toEqual(new Uint8Array(4))
  return frame.subarray(header + 4)
}

function updateOf(message: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(message)
  expect([decoding.readVarUint(decoder), decoding.readVarUint(decoder)]).toEqual([0, 2])
  return decoding.readVarUint8Array(decoder)
}
