/** Tool, colour and width pickers, plus undo and redo. Changes write into the shared `ToolState`. */
import { TOOLS, type Tool } from '../../../shared/canvas.ts'
import { h } from '../dom.ts'

/** `hand` moves the view instead of drawing (what a single finger or the mouse does with it). */
export type ToolName = Tool | 'eraser' | 'hand'

export interface ToolState {
  tool: ToolName
  color: string
  width: number
}

export interface Toolbar {
  element: HTMLElement
  setHistory(canUndo: boolean, canRedo: boolean): void
}

const TOOL_NAMES: readonly ToolName[] = [...TOOLS, 'eraser', 'hand']
const LABELS: Record<ToolName, string> = { pen: 'Pen', marker: 'Marker', highlighter: 'Highlighter', eraser: 'Eraser', hand: 'Hand' }

export function toolbar(state: ToolState, actions: { undo(): void; redo(): void }): Toolbar {
  const buttons = TOOL_NAMES.map((name) => toolButton(name, state, () => { select(name); closeMenu() }))
  // On a phone the tools, colour and width fold into a menu behind one button (styles.css).
  const menuButton = h('button', { type: 'button', class: 'tool-menu-toggle', 'data-testid': 'tool-menu', 'aria-expanded': 'false', 'aria-controls': 'tool-menu' })
  const select = (name: ToolName): void => {
    state.tool = name
    for (const button of buttons) button.setAttribute('aria-pressed', String(button.dataset.tool === name))
    menuButton.textContent = `${LABELS[name]} ▾`
  }
  const closeMenu = (): void => {
    menuButton.setAttribute('aria-expanded', 'false')
    element.classList.remove('menu-open')
  }
  menuButton.addEventListener('click', () => {
    const opening = !element.classList.contains('menu-open')
    element.classList.toggle('menu-open', opening)
    menuButton.setAttribute('aria-expanded', String(opening))
  })
  const color = h('input', { type: 'color', value: state.color, 'aria-label': 'Colour', 'data-testid': 'color' })
  color.addEventListener('input', () => { state.color = color.value })
  const width = h('input', { type: 'range', min: 1, max: 40, value: state.width, 'aria-label': 'Width', 'data-testid': 'width' })
  width.addEventListener('input', () => { state.width = Number(width.value) })
  const undo = h('button', { type: 'button', 'data-testid': 'undo', title: 'Undo (Ctrl+Z)', disabled: true }, 'Undo')
  const redo = h('button', { type: 'button', 'data-testid': 'redo', title: 'Redo (Ctrl+Shift+Z)', disabled: true }, 'Redo')
  undo.addEventListener('click', () => actions.undo())
  redo.addEventListener('click', () => actions.redo())
  select(state.tool)
  const element: HTMLElement = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Drawing tools' },
    menuButton, h('div', { class: 'tool-menu', id: 'tool-menu' }, h('div', { class: 'tool-group' }, ...buttons), color, width), h('div', { class: 'tool-group' }, undo, redo))
  return {
    element,
    setHistory: (canUndo, canRedo) => {
      undo.disabled = !canUndo
      redo.disabled = !canRedo
    },
  }
}

function toolButton(name: ToolName, state: ToolState, onClick: () => void): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'tool', 'data-tool': name, 'data-testid': `tool-${name}`, 'aria-pressed': String(state.tool === name) }, LABELS[name])
  button.addEventListener('click', onClick)
  return button
}
