/** How webhooks and their deliveries read on screen: states, attempts and errors in plain words. */
import type { DeliveryResponse, WebhookResponse } from '../../../shared/feed-api.ts'
import { ApiError } from '../api.ts'
import { sentence } from '../members/members-panel.ts'

export type WebhookState = 'healthy' | 'failing' | 'disabled'

export function stateOf(webhook: WebhookResponse): WebhookState {
  if (webhook.disabled) return 'disabled'
  return webhook.failingSince === null ? 'healthy' : 'failing'
}

export function stateText(webhook: WebhookResponse): string {
  if (webhook.disabled) return `Disabled since ${timeText(webhook.disabled.at)}: ${sentence(webhook.disabled.reason)}`
  if (webhook.failingSince !== null) return `Failing since ${timeText(webhook.failingSince)}`
  return 'Healthy'
}

export function eventsText(webhook: WebhookResponse): string {
  return webhook.events === null ? 'All events' : webhook.events.join(', ')
}

/** The last attempt, as a receiver's owner would look for it: its HTTP status, or what went wrong. */
export function lastAttemptText(delivery: DeliveryResponse): string {
  const last = delivery.attempts.at(-1)
  if (!last) return 'not tried yet'
  if (last.status !== null) return `last: HTTP ${last.status}`
  return `last: ${last.error ?? 'no answer'}`
}

export function attemptsText(delivery: DeliveryResponse): string {
  const count = delivery.attempts.length
  return count === 1 ? '1 attempt' : `${count} attempts`
}

/** Seconds matter here: retries in a run come seconds apart. */
export function timeText(ms: number): string {
  const sameDay = new Date(ms).toDateString() === new Date().toDateString()
  return new Date(ms).toLocaleString([], sameDay ? { timeStyle: 'medium' } : { dateStyle: 'medium', timeStyle: 'medium' })
}

/**
 * The server's refusals, in words an owner can act on. Its 400 for a target says why the address
 * cannot be used; its 409 is the quota (registering) or a retry it will not do.
 */
export function webhookErrorText(reason: unknown): string {
  if (!(reason instanceof ApiError)) return 'Something went wrong; try again.'
  if (reason.status === 400) return `That URL was refused: ${sentence(reason.message.replace(/^url (refused: )?/, '')).replace(/^./, (c) => c.toLowerCase())}`
  if (reason.status === 409 && reason.code === 'quota_exceeded') return `${sentence(reason.message)} Delete one before adding another.`
  return sentence(reason.message)
}
