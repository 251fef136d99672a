/**
 * The versions of one document, newest first, a page at a time ("Older versions" asks for the
 * next page with the previous answer's `nextBefore`). Each row: a thumbnail (canvas), the name or
 * "Automatic", the local time, the authors, and (for owners and editors) Restore.
 */
import type { VersionResponse } from '../../../shared/api.ts'
import type { RoomKind } from '../../../shared/rooms.ts'
import { h } from '../dom.ts'
import type { HistoryApi } from './history-api.ts'
import { authorNames, localTime, madeText, versionLabel } from './version-format.ts'
import type { VersionPictures } from './version-pictures.ts'

export interface VersionListOptions {
  history: HistoryApi
  pictures: VersionPictures
  canRestore: boolean
  onSelect(version: VersionResponse): void
  onRestore(version: VersionResponse): void
  onError(reason: unknown): void
}

export interface VersionList {
  element: HTMLElement
  /** Shows the document's newest page (again), dropping what was loaded before. */
  reload(doc: RoomKind): void
  /** Marks the previewed version's row (null: none). */
  select(versionId: string | null): void
}

export function versionList(options: VersionListOptions): VersionList {
  const items = h('ol', { class: 'version-list', 'data-testid': 'version-list', 'aria-busy': 'true' })
  const older = h('button', { type: 'button', class: 'link', 'data-testid': 'versions-older', hidden: true }, 'Older versions')
  const empty = h('p', { class: 'muted', hidden: true }, 'No versions yet. Name one, or wait for the next automatic one.')
  let doc: RoomKind = 'canvas'
  let nextBefore: number | null = null
  let selected: string | null = null
  let generation = 0
  const markSelected = (): void => {
    for (const item of items.children) item.toggleAttribute('aria-current', (item as HTMLElement).dataset.versionId === selected)
  }

  const load = (before: number | null): void => {
    const asked = ++generation
    items.setAttribute('aria-busy', 'true')
    older.disabled = true
    options.history.list(doc, before).then((page) => {
      if (asked !== generation) return // the document changed or the list was reloaded meanwhile
      if (before === null) items.replaceChildren()
      items.append(...page.versions.map((version) => row(version, doc, options)))
      markSelected()
      nextBefore = page.nextBefore
      older.hidden = nextBefore === null
      empty.hidden = items.childElementCount > 0
    }, (reason: unknown) => {
      if (asked === generation) options.onError(reason)
    }).finally(() => {
      if (asked !== generation) return
      items.removeAttribute('aria-busy')
      older.disabled = false
    })
  }
  older.addEventListener('click', () => { if (nextBefore !== null) load(nextBefore) })

  return {
    element: h('div', { class: 'versions' }, items, empty, older),
    reload: (next) => {
      doc = next
      load(null)
    },
    select: (versionId) => {
      selected = versionId
      markSelected()
    },
  }
}

function row(version: VersionResponse, doc: RoomKind, options: VersionListOptions): HTMLLIElement {
  const open = h('button', { type: 'button', class: 'version-open', 'data-testid': 'version-open', title: 'Preview this version' },
    doc === 'canvas' ? thumbnail(version, options.pictures) : h('span', { class: 'version-thumb chat-thumb', 'aria-hidden': 'true' }, 'Chat'),
    h('span', { class: 'version-meta' },
      h('span', { class: 'version-name' }, versionLabel(version)),
      h('time', { datetime: new Date(version.createdAt).toISOString() }, localTime(version.createdAt)),
      madeText(version) ? h('span', { class: 'version-made', 'data-testid': 'version-made' }, madeText(version)) : null,
      version.authors.length > 0 ? h('span', { class: 'version-authors' }, `Edits by ${authorNames(version)}`) : null))
  open.addEventListener('click', () => options.onSelect(version))
  const restore = options.canRestore ? h('button', { type: 'button', 'data-testid': 'version-restore', title: 'Make the document look like this again (undoable)' }, 'Restore') : null
  restore?.addEventListener('click', () => options.onRestore(version))
  return h('li', { class: 'version-item', 'data-testid': 'version-item', 'data-version-id': version.id, 'data-version-name': version.name ?? '' }, open, restore)
}

/** The picture loads by itself; one that cannot be shown says why in its place. */
function thumbnail(version: VersionResponse, pictures: VersionPictures): HTMLElement {
  const image = h('img', { class: 'version-thumb', alt: `Canvas at ${localTime(version.createdAt)}`, 'data-testid': 'version-thumb' })
  pictures.url(version.id).then((url) => { image.src = url }, (reason: unknown) => {
    image.alt = reason instanceof Error ? reason.message : 'no picture'
    image.classList.add('missing')
  })
  return image
}
