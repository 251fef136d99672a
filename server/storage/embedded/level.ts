/**
 * Opening a LevelDB (classic-level, prebuilt N-API binary). Values are raw bytes or JSON; keys
 * are strings. A directory can be open in one process only: a second opener gets a clear error.
 */
import { mkdir } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'

export type LevelDb = ClassicLevel<string, Uint8Array>

export async function openLevel(location: string): Promise<LevelDb> {
  await mkdir(location, { recursive: true })
  const db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new Error(`${location} is in use by another process (one node per DATA_DIR)`, { cause: error })
    }
    throw error
  }
  return db
}

/** The key range of everything under `prefix` (`!` is below every character room names use). */
export function prefixRange(prefix: string): { gt: string; lt: string } {
  return { gt: prefix, lt: `${prefix}\xff` }
}
