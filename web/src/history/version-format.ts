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
