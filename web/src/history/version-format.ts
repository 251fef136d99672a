/** How a version is named on screen: its name or "Automatic", its local time, its authors. */
import type { VersionResponse } from '../../../shared/api.ts'

export function versionLabel(version: VersionResponse): string {
  return version.name ?? 'Automatic'
}

export function localTime(ms: number): string {
  return new Date(ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' })
}

/** Authors as the server names them; a user it no longer knows is a former member. */
export function authorNames(version: VersionResponse): string {
  return version.authors.map((author) => author.name || 'Former member').join(', ')
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}

/** Who made a version and how ("Named by Ann", "Kept before Ann restored "V1""); null for automatic ones. */
export function madeText(version: VersionResponse): string | null {
  const made = version.made
  if (!made) return null
  const by = made.by.name || 'a former member'
  if (made.kind === 'named') return `Named by ${by}`
  if (made.kind === 'restore') return `Kept before ${by} ${restoreWords(made.restored?.name)}: restore it to undo that`
  return `Kept before ${by} rolled back ${made.user?.name || 'a former member'}'s changes: restore it to undo that`
}

/** What a restore did, by the label of the version it restored: an undo reads as one. */
export function restoreWords(name = 'a version'): string {
  const undone = /^before the restore of "(.*)"$/.exec(name)
  if (undone) return `undid the restore of "${undone[1]}"`
  if (name === 'before a rollback') return 'undid a rollback'
  return `restored "${name}"`
}
