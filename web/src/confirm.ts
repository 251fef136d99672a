/**
 * Asks before something that changes what others see: a modal <dialog> with what will happen
 * and two buttons (`confirm-ok`, `confirm-cancel`). Resolves true only for the confirm button;
 * Escape, Cancel and closing the page's view all resolve false.
 */
import { h } from './dom.ts'

export interface ConfirmOptions {
  title: string
  /** What will happen, as text or elements (a preview can fill in later). */
  body: Array<Node | string>
  confirm: string
  danger?: boolean
}

export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
  const ok = h('button', { type: 'button', class: options.danger ? 'danger' : 'primary', 'data-testid': 'confirm-ok' }, options.confirm)
  const cancel = h('button', { type: 'button', 'data-testid': 'confirm-cancel' }, 'Cancel')
  const dialog = h('dialog', { class: 'confirm', 'data-testid': 'confirm-dialog', 'aria-label': options.title },
    h('h2', {}, options.title), h('div', { class: 'confirm-body' }, ...options.body), h('div', { class: 'confirm-actions' }, cancel, ok))
  document.body.append(dialog)
  return new Promise((resolve) => {
    const finish = (answer: boolean): void => {
      dialog.close()
      dialog.remove()
      resolve(answer)
    }
    ok.addEventListener('click', () => finish(true))
    cancel.addEventListener('click', () => finish(false))
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); finish(false) })
    dialog.showModal()
    cancel.focus()
  })
}
