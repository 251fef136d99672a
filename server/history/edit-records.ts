/**
 * What each user changed, per minute, as history keeps it (storage EditRecord): the struct ranges
 * they created and what they deleted (a deletions-only update). Built at compaction from the
 * updates it folds, which carry their writer and log time; the log forgets both once trimmed.
 */
import * as Y from 'yjs'
import { compareLogIds, type LogId } from '../log/log-id.ts'
import type { EditRecord } from '../storage/types.ts'
import { deletesOnly, hasDeletes, structRanges, type UpdateInfo } from '../collab/sync/update-info.ts'

export interface TimedUpdate {
  /** When it was logged (ms since the epoch). */
  at: number
  /** Its log entry's id, when known (the change feed keys events by it). */
  id?: string
  writer: string
  update: Uint8Array
  info: UpdateInfo
  /**
   * Where its content is in the log now, when that differs from `id` (null: the log lost it and
   * it is not logged again yet, so no mark can say it is recorded).
   */
  place?: LogId | null
}

/** Each record holds one user's edits of one such span (a minute, from the epoch on). */
export const EDIT_RECORD_MS = 60_000
export const NO_DELETES = Y.encodeStateAsUpdate(new Y.Doc())

/**
 * The updates a room's records do not hold yet: those placed after `recordedUpTo` (every edit in
 * the log entries up to it is recorded: a fold stored them, and its snapshot may have failed to
 * save), and those with no place in the log.
 */
export function notRecorded(updates: readonly TimedUpdate[], recordedUpTo: LogId | null): TimedUpdate[] {
  if (recordedUpTo === null) return [...updates]
  return updates.filter((update) => {
    const place = update.place === undefined ? update.id : update.place
    return place === undefined || place === null || compareLogIds(place, recordedUpTo) > 0
  })
}

/**
 * `ownerOf`: the user each client id is bound to. Structs are credited to their writer only under
 * her own ids: an update may pass on others' (deleted) structs, which she did not create.
 */
export function editRecords(room: string, updates: readonly TimedUpdate[], ownerOf?: (client: number) => string | undefined): EditRecord[] {
  const groups = new Map<string, TimedUpdate[]>()
  for (const update of updates) {
    if (update.writer === '') continue // from before writers were recorded
    const key = `${Math.floor(update.at / EDIT_RECORD_MS)}\u0000${update.writer}`
    const group = groups.get(key)
    if (group) group.push(update)
    else groups.set(key, [update])
  }
  return [...groups.values()].map((group) => recordOf(room, group, ownerOf)).sort((a, b) => a.at - b.at)
}

function recordOf(room: string, group: TimedUpdate[], ownerOf: ((client: number) => string | undefined) | undefined): EditRecord {
  const created: Array<[number, number, number]> = []
  const deletions: Uint8Array[] = []
  for (const { update, info, writer } of group) {
    for (const range of structRanges(update, info)) if (!ownerOf || ownerOf(range[0]) === writer) created.push(range)
    if (hasDeletes(update, info)) deletions.push(deletesOnly(update, info))
  }
  return {
    room,
    at: group.reduce((earliest, u) => Math.min(earliest, u.at), Infinity),
    user: group[0]!.writer,
    created: mergeRanges(created),
    deleted: deletions.length === 0 ? NO_DELETES : deletions.length === 1 ? deletions[0]! : Y.mergeUpdates(deletions),
  }
}

function mergeRanges(ranges: Array<[number, number, number]>): Array<[number, number, number]> {
  const sorted = ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const merged: Array<[number, number, number]> = []
  for (const range of sorted) {
    const last = merged.at(-1)
    if (last && last[0] === range[0] && range[1] <= last[2]) last[2] = Math.max(last[2], range[2])
    else merged.push([...range])
  }
  return merged
}
