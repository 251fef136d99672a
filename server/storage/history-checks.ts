/**
 * Argument checks shared by both history stores, so they refuse the same calls. Times become
 * sortable key parts in the embedded store, and a MongoDB `limit(0)` means "no limit": both
 * need the numbers to be what they claim before they are used.
 */
import type { EditRecord, VersionRecord } from './types.ts'

/** A time in ms since the epoch: a non-negative safe integer. */
export function checkTime(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer time in ms, got ${value}`)
}

export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`)
}

export function checkVersion(record: VersionRecord, state: Uint8Array): void {
  if (typeof record.id !== 'string' || record.id === '') throw new RangeError('a version needs an id')
  checkTime(record.createdAt, 'createdAt')
  if (record.bytes !== state.length) throw new RangeError(`version ${record.id} says ${record.bytes} bytes but its state has ${state.length}`)
}

export function checkEdits(records: readonly EditRecord[]): void {
  for (const record of records) checkTime(record.at, 'at')
}
