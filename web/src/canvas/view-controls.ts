/** Zoom out, the zoom level, zoom in, and "fit to drawing": shown to everyone, viewers included. */
import { h, type View } from '../dom.ts'
import type { Viewport } from './viewport.ts'

/** Each press of a zoom button. */
const STEP = 1.25

export interface ViewActions {
  /** Zooms by `factor` around the middle of the visible canvas. */
  zoom(factor: number): void
  fit(): void
}

export function viewControls(viewport: Viewport, actions: ViewActions): View {
  const button = (testid: string, label: string, title: string, onClick: () => void): HTMLButtonElement => {
    const element = h('button', { type: 'button', 'data-testid': testid, title, 'aria-label': title }, label)
    element.addEventListener('click', onClick)
    return element
  }
  const level = h('span', { class: 'zoom-level', 'data-testid': 'zoom-level', 'aria-live': 'polite' })
  const show = (): void => { level.textContent = `${Math.round(viewport.view.scale * 100)}%` }
  const element = h('div', { class: 'view-controls', role: 'group', 'aria-label': 'View' },
    button('zoom-out', '−', 'Zoom out', () => actions.zoom(1 / STEP)),
    level,
    button('zoom-in', '+', 'Zoom in', () => actions.zoom(STEP)),
    button('fit', 'Fit', 'Fit to drawing', () => actions.fit()))
  show()
  return { element, dispose: viewport.onChange(show) }
}
