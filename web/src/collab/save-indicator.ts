/**
 * One document's save state in the group header: `data-state` is saved, saving, unsaved (not yet
 * saved) or declined (the server refused a change), as SaveTracker says.
 */
import { h, type View } from '../dom.ts'
import type { SaveState } from './pending-changes.ts'
import type { SaveTracker } from './save-tracker.ts'

const LABELS: Record<SaveState, string> = {
  saved: 'saved',
  saving: 'saving…',
  unsaved: 'not yet saved',
  declined: 'not accepted',
}

const TITLES: Record<SaveState, string> = {
  saved: 'The server has logged every change made here.',
  saving: 'Changes made here are on their way to the server.',
  unsaved: 'Changes made here are kept in this browser and sent when the server can take them.',
  declined: 'The server did not accept a change made here',
}

export function saveIndicator(tracker: SaveTracker, document: 'canvas' | 'chat'): View {
  const name = document === 'canvas' ? 'Canvas' : 'Chat'
  // Sized to the longest label (styles.css): the header keeps its layout as the state changes.
  const longest = Object.values(LABELS).reduce((a, b) => (b.length > a.length ? b : a))
  const label = h('span', { class: 'save-label', 'data-longest': `${name}: ${longest}` })
  const element = h('span', { class: 'save-state', 'data-testid': `save-status-${document}` }, h('span', { class: 'save-dot', 'aria-hidden': 'true' }), label)
  const update = (): void => {
    const state = tracker.state
    element.dataset.state = state
    label.textContent = `${name}: ${LABELS[state]}`
    element.title = state === 'declined' && tracker.declinedReason ? `${TITLES.declined}: ${tracker.declinedReason}` : TITLES[state]
  }
  const unsubscribe = tracker.onChange(update)
  update()
  return { element, dispose: unsubscribe }
}
