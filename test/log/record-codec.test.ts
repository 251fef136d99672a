/** Log records: batches of attributed updates, and entries from before records existed. */
import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { DecodeError, UnknownFormatError } from '../../server/collab/wire/bounded-reader.ts'
import { decodeRecord, decodeRecordOrReport, encodeRecord } from '../../server/log/record-codec.ts'

function realUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

describe('log records', () => {
  it('round-trip a batch with its writers in order', () => {
    const updates = [{ writer: 'ann', update: realUpdate('a') }, { writer: 'bob', update: realUpdate('b') }, { writer: '', update: new Uint8Array(0) }]
    expect(decodeRecord(encodeRecord({ tag: 'node-1:7', updates }))).toEqual({ tag: 'node-1:7', updates })
  })

  it('read records written before tags (YLR1) with an empty tag', () => {
    const v1 = new Uint8Array([0x59, 0x4c, 0x52, 0x31, 1, 3, 0x61, 0x6e, 0x6e, 2, 9, 8])
    expect(decodeRecord(v1)).toEqual({ tag: '', updates: [{ writer: 'ann', update: new Uint8Array([9, 8]) }] })
  })

  it('read a bare update (written before records) as one update by an unknown writer', () => {
    const bare = realUpdate('legacy')
    expect(decodeRecord(bare)).toEqual({ tag: '', updates: [{ writer: '', update: bare }] })
  })

  it('refuse damaged records without reading past their end', () => {
    const record = encodeRecord({ tag: 'n:1', updates: [{ writer: 'ann', update: realUpdate('abc') }] })
    expect(() => decodeRecord(record.subarray(0, record.length - 2))).toThrow(DecodeError)
    expect(() => decodeRecord(new Uint8Array([...record, 0]))).toThrow(DecodeError)
    const huge = new Uint8Array([0x59, 0x4c, 0x52, 0x31, 0xff, 0xff, 0xff, 0x7f])
    expect(() => decodeRecord(huge)).toThrow(DecodeError)
  })

  it('refuse a record of a later format (YLR3…) instead of reading it as a bare update', () => {
    const later = new Uint8Array([0x59, 0x4c, 0x52, 0x33, 1, 2, 3])
    expect(() => decodeRecord(later)).toThrow(UnknownFormatError)
    const reported: unknown[] = []
    expect(decodeRecordOrReport(later, (e) => reported.push(e))).toEqual({ tag: '', updates: [] })
    expect(String(reported[0])).toContain('log record format 3 is newer than this release reads')
  })

  it('report a damaged record and read it as empty, so one bad entry cannot block a room', () => {
    const reported: unknown[] = []
    expect(decodeRecordOrReport(new Uint8Array([0x59, 0x4c, 0x52, 0x31, 3]), (e) => reported.push(e))).toEqual({ tag: '', updates: [] })
    expect(reported).toHaveLength(1)
  })
})
