/**
 * Adding a webhook: its URL and, optionally, which event types it gets (none picked: all). The
 * server shows the signing secret only in its answer to this request, so it is shown here once,
 * with a Copy button and a warning, and never again (not even when the panel reopens).
 */
import { EVENT_TYPES } from '../../../shared/event-types.ts'
import type { WebhookResponse } from '../../../shared/feed-api.ts'
import type { Api } from '../api.ts'
import { h } from '../dom.ts'

export interface WebhookFormOptions {
  api: Api
  /** `/groups/<id>/webhooks` */
  path: string
  onAdded(webhook: WebhookResponse): void
  fail(reason: unknown): void
}

export function webhookForm(options: WebhookFormOptions): HTMLElement {
  const url = h('input', { type: 'url', required: true, minlength: 8, maxlength: 2048, placeholder: 'https://example.com/hooks', 'aria-label': 'Webhook URL', 'data-testid': 'webhook-url' })
  const boxes = EVENT_TYPES.map((type) => h('input', { type: 'checkbox', value: type, 'data-testid': 'webhook-event' }))
  const events = h('details', { class: 'webhook-events' },
    h('summary', {}, 'Event types: all unless you pick some'),
    h('div', { class: 'event-choices' }, ...boxes.map((box) => h('label', {}, box, ` ${box.value}`))))
  const add = h('button', { type: 'submit', 'data-testid': 'webhook-add' }, 'Add webhook')
  const reveal = secretReveal()
  const form = h('form', { class: 'webhook-form', 'aria-label': 'Add a webhook' },
    h('h3', {}, 'Add a webhook'), h('div', { class: 'inline' }, url, add), events, reveal.element)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const picked = boxes.filter((box) => box.checked).map((box) => box.value)
    add.disabled = true
    reveal.hide()
    const body = picked.length > 0 ? { url: url.value.trim(), events: picked } : { url: url.value.trim() }
    options.api.post<{ webhook: WebhookResponse; secret: string }>(options.path, body).then(({ webhook, secret }) => {
      reveal.show(secret)
      url.value = ''
      for (const box of boxes) box.checked = false
      events.open = false
      options.onAdded(webhook)
    }, options.fail).finally(() => { add.disabled = false })
  })
  return form
}

function secretReveal(): { element: HTMLElement; show(secret: string): void; hide(): void } {
  const value = h('input', { type: 'text', readonly: true, class: 'secret-value', 'aria-label': 'Signing secret', 'data-testid': 'webhook-secret' })
  const copy = h('button', { type: 'button', 'data-testid': 'webhook-secret-copy' }, 'Copy')
  const done = h('button', { type: 'button', class: 'link', 'data-testid': 'webhook-secret-done' }, 'I have copied it')
  const element = h('div', { class: 'secret-reveal', role: 'status', 'data-testid': 'webhook-secret-box', hidden: true },
    h('p', { class: 'warning' }, 'Copy the signing secret now: it is shown only this once. Your receiver uses it to check that deliveries come from this server.'),
    h('div', { class: 'inline' }, value, copy), done)
  copy.addEventListener('click', () => {
    value.select()
    navigator.clipboard?.writeText(value.value).then(() => { copy.textContent = 'Copied' }, () => { copy.textContent = 'Select and copy' })
  })
  // Out of the page once dismissed: nothing left to read it from later.
  const hide = (): void => { value.value = ''; element.hidden = true }
  done.addEventListener('click', hide)
  return {
    element,
    show: (secret) => { value.value = secret; copy.textContent = 'Copy'; element.hidden = false },
    hide,
  }
}
