/**
 * The Webhooks panel of a group, for its owner (the server answers 403 to anyone else, and the
 * page offers the panel to owners only): the group's webhooks with their URL, event types and
 * state (healthy, failing since when, or disabled and why), adding one (its secret shown once),
 * deleting one after confirming, and each one's recent deliveries with a retry for failed ones.
 *
 * Deliveries are retried by the server in the background, so while the panel is open it reads the
 * list (and the open delivery lists) again every few seconds: a receiver coming back, or a webhook
 * being disabled, shows without reopening. Every failure is shown as text in the panel.
 */
import type { GroupResponse } from '../../../shared/api.ts'
import type { WebhookResponse } from '../../../shared/feed-api.ts'
import type { Api } from '../api.ts'
import { confirmDialog } from '../confirm.ts'
import { h, type View } from '../dom.ts'
import { deliveryList, type DeliveryList } from './delivery-list.ts'
import { webhookForm } from './webhook-form.ts'
import { eventsText, stateOf, stateText, webhookErrorText } from './webhook-words.ts'

export interface WebhooksPanelOptions {
  api: Api
  group: GroupResponse
  onClose(): void
}

/** Often enough to follow a run of retries, rarely enough to cost nothing while the panel sits open. */
const REFRESH_MS = 3_000

interface Row {
  element: HTMLLIElement
  deliveries: DeliveryList
  update(webhook: WebhookResponse): void
}

export function webhooksPanel(options: WebhooksPanelOptions): View {
  const { api, group } = options
  const path = `/groups/${encodeURIComponent(group.id)}/webhooks`
  let closed = false
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'webhooks-error' })
  const status = h('p', { class: 'muted', role: 'status', 'data-testid': 'webhooks-status' })
  const say = (text: string): void => { if (!closed) { status.textContent = text; error.textContent = '' } }
  const fail = (reason: unknown): void => { if (!closed) { error.textContent = webhookErrorText(reason); status.textContent = '' } }

  const list = h('ul', { class: 'webhook-list', 'data-testid': 'webhook-list', 'aria-busy': 'true' })
  const rows = new Map<string, Row>()
  // One read at a time; one asked for meanwhile (after a change made here) follows it.
  let reading = false
  let again = false
  const reload = (): void => {
    if (closed) return
    if (reading) { again = true; return }
    reading = true
    api.get<{ webhooks: WebhookResponse[] }>(path).then(({ webhooks }) => {
      if (closed) return
      // Rows are kept by id and updated in place, so an open delivery list stays open.
      const seen = new Set<string>()
      for (const webhook of webhooks) {
        seen.add(webhook.id)
        const row = rows.get(webhook.id) ?? webhookRow(webhook, { api, path, group, say, fail, reload })
        rows.set(webhook.id, row)
        row.update(webhook)
      }
      for (const [id] of rows) if (!seen.has(id)) rows.delete(id)
      list.replaceChildren(...webhooks.map((webhook) => rows.get(webhook.id)?.element ?? ''))
      if (webhooks.length === 0) list.append(h('li', { class: 'muted' }, 'No webhooks yet.'))
      list.removeAttribute('aria-busy')
      for (const row of rows.values()) row.deliveries.refresh()
    }, fail).finally(() => {
      reading = false
      if (again) { again = false; reload() }
    })
  }

  const close = h('button', { type: 'button', 'data-testid': 'webhooks-close', 'aria-label': 'Close webhooks' }, '×')
  close.addEventListener('click', () => options.onClose())
  const element = h('aside', { class: 'side-panel webhooks-panel', id: 'webhooks-panel', 'data-testid': 'webhooks-panel', 'aria-label': 'Webhooks' },
    h('header', { class: 'panel-header' }, h('h2', {}, 'Webhooks'), close),
    h('p', { class: 'note' }, 'Each event in this group (messages, drawing, members, versions) is sent as a signed POST to these URLs.'),
    error, status,
    webhookForm({ api, path, fail, onAdded: () => { say('Webhook added.'); reload() } }),
    h('section', {}, h('h3', {}, 'This group\'s webhooks'), list))
  reload()
  const timer = setInterval(reload, REFRESH_MS)
  return { element, dispose: () => { closed = true; clearInterval(timer) } }
}

interface RowContext {
  api: Api
  path: string
  group: GroupResponse
  say(text: string): void
  fail(reason: unknown): void
  reload(): void
}

function webhookRow(first: WebhookResponse, context: RowContext): Row {
  let current = first
  const hookPath = `${context.path}/${encodeURIComponent(first.id)}`
  const url = h('span', { class: 'webhook-url', 'data-testid': 'webhook-url-text' })
  const events = h('span', { class: 'muted', 'data-testid': 'webhook-events' })
  const state = h('span', { class: 'webhook-state', 'data-testid': 'webhook-state' })
  const remove = h('button', { type: 'button', class: 'link danger', 'data-testid': 'webhook-delete' }, 'Delete')
  remove.addEventListener('click', () => {
    void confirmDialog({
      title: 'Delete this webhook?',
      body: [`${current.url} gets no more events from "${context.group.name}", and its delivery history goes too.`],
      confirm: 'Delete', danger: true,
    }).then((yes) => {
      if (yes) context.api.delete(hookPath).then(() => { context.say(`The webhook to ${current.url} was deleted.`); context.reload() }, context.fail)
    })
  })
  const deliveries = deliveryList({
    api: context.api, path: hookPath, disabled: () => current.disabled !== null, fail: context.fail,
    onRetried: () => { context.say('Trying that delivery again.'); context.reload() },
  })
  const element = h('li', { class: 'webhook-row', 'data-testid': 'webhook-row', 'data-webhook-id': first.id },
    h('div', { class: 'webhook-head' }, url, remove), events, state, deliveries.element)
  const update = (webhook: WebhookResponse): void => {
    current = webhook
    url.textContent = webhook.url
    events.textContent = eventsText(webhook)
    state.textContent = stateText(webhook)
    element.dataset.state = stateOf(webhook)
  }
  return { element, deliveries, update }
}
