import path from 'node:path'
import { expect, it } from 'vitest'
import { EmbeddedLog } from '../../server/log/embedded-log.ts'
import { compareLogIds, LOG_START, sortableLogId } from '../../server/log/log-id.ts'
import { openLevel } from '../../server/storage/embedded/level.ts'
import type { UpdateLog } from '../../server/log/types.ts'
import { tempDir } from '../helpers/server.ts'
import { describeLogConformance } from './conformance.ts'

describeLogConformance('embedded (LevelDB)', async () => {
  const dir = await tempDir()
  const location = path.join(dir.path, 'log')
  let log: UpdateLog = await EmbeddedLog.open(location, { fsync: false })
  return {
    log,
    reopen: async () => {
      await log.close()
      log = await EmbeddedLog.open(location, { fsync: false })
      return log
    },
    cleanup: async () => {
      await log.close()
      await dir.remove()
    },
  }
})

it('reads entries written before records existed (a bare update) as one update by an unknown writer', async () => {
  const dir = await tempDir()
  const location = path.join(dir.path, 'log')
  const db = await openLevel(location)
  await db.put(`legacy/canvas!${sortableLogId('5-0')}`, new Uint8Array([3, 4]))
  await db.close()
  const log = await EmbeddedLog.open(location, { fsync: false })
  try {
    const entries = await log.read('legacy/canvas', LOG_START, 10)
    expect(entries.map((e) => ({ id: e.id, updates: e.updates.map((u) => [u.writer, [...u.update]]) }))).toEqual([{ id: '5-0', updates: [['', [3, 4]]] }])
    expect(compareLogIds(await log.append('legacy/canvas', [{ writer: 'ann', update: new Uint8Array([1]) }]), '5-0')).toBeGreaterThan(0)
  } finally {
    await log.close()
    await dir.remove()
  }
})
