/**
 * One webhook's recent deliveries (the newest 20), read only while their list is open: per event,
 * its type, status, attempts, the last attempt's HTTP status or error and when the next retry is
 * due. A failed delivery can be retried by hand, and so can a pending one of a disabled webhook
 * (nothing else would send it): the server then enables the webhook again.
 */
import type { DeliveryResponse } from '../../../shared/feed-api.ts'
import type { Api } from '../api.ts'
import { h } from '../dom.ts'
import { attemptsText, lastAttemptText, timeText } from './webhook-words.ts'

export const DELIVERIES_SHOWN = 20

export interface DeliveryListOptions {
  api: Api
  /** `/groups/<id>/webhooks/<webhookId>` */
  path: string
  /** Whether the webhook is disabled now (its pending deliveries wait for a retry by hand). */
  disabled(): boolean
  /** A retry was accepted: the webhook's state may have changed too. */
  onRetried(): void
  fail(reason: unknown): void
}

export interface DeliveryList {
  element: HTMLElement
  /** Reads the list again if it is open. */
  refresh(): void
}

const STATUS_TEXT: Record<DeliveryResponse['status'], string> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' }

export function deliveryList(options: DeliveryListOptions): DeliveryList {
  const list = h('ul', { class: 'delivery-list', 'data-testid': 'delivery-list', 'aria-busy': 'true' })
  const element = h('details', { class: 'deliveries', 'data-testid': 'deliveries' }, h('summary', { 'data-testid': 'deliveries-toggle' }, 'Recent deliveries'), list)
  // What is on screen: a refresh that read the same leaves the DOM (and a button under the pointer) alone.
  let shown = ''
  let reading = false
  let again = false
  const refresh = (): void => {
    if (!element.open) return
    if (reading) { again = true; return }
    reading = true
    options.api.get<{ deliveries: DeliveryResponse[] }>(`${options.path}/deliveries?limit=${DELIVERIES_SHOWN}`).then(({ deliveries }) => {
      const disabled = options.disabled()
      const key = JSON.stringify([disabled, deliveries])
      if (key === shown) return
      shown = key
      list.replaceChildren(...deliveries.map((delivery) => deliveryRow(delivery, disabled, options)))
      if (deliveries.length === 0) list.append(h('li', { class: 'muted' }, 'Nothing sent yet: events from now on are delivered here.'))
      list.removeAttribute('aria-busy')
    }, options.fail).finally(() => {
      reading = false
      if (again) { again = false; refresh() }
    })
  }
  element.addEventListener('toggle', refresh)
  return { element, refresh }
}

function deliveryRow(delivery: DeliveryResponse, disabled: boolean, options: DeliveryListOptions): HTMLLIElement {
  const parts = [attemptsText(delivery), lastAttemptText(delivery)]
  if (delivery.status === 'pending' && delivery.nextAttemptAt !== null) parts.push(disabled ? 'waits for a retry by hand' : `next try ${timeText(delivery.nextAttemptAt)}`)
  const row = h('li', { class: 'delivery-row', 'data-testid': 'delivery-row', 'data-status': delivery.status, 'data-delivery-id': delivery.id },
    h('span', { class: 'delivery-event' }, delivery.eventType),
    h('span', { class: 'delivery-status', 'data-testid': 'delivery-status' }, STATUS_TEXT[delivery.status]),
    h('span', { class: 'delivery-detail muted', 'data-testid': 'delivery-detail' }, parts.join(' · ')))
  if (delivery.status === 'failed' || (disabled && delivery.status === 'pending')) {
    const retry = h('button', { type: 'button', class: 'link', 'data-testid': 'delivery-retry' }, 'Retry')
    retry.addEventListener('click', () => {
      retry.disabled = true
      options.api.post(`${options.path}/deliveries/${encodeURIComponent(delivery.id)}/retry`).then(() => options.onRetried(), (reason: unknown) => {
        retry.disabled = false
        options.fail(reason)
      })
    })
    row.append(retry)
  }
  return row
}
