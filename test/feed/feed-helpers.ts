/** Reading a group's feed in tests. */
import { expect } from 'vitest'
import type { EventPageResponse } from '../../shared/feed-api.ts'
import type { Api } from '../helpers/api.ts'
import { waitFor } from '../helpers/wait.ts'

export type Event = EventPageResponse['events'][number]

/** Every event kept, paged through `after`. */
export async function allEvents(api: Api, groupId: string, token: string, pageSize = 200): Promise<Event[]> {
  const out: Event[] = []
  let after: string | null = null
  for (;;) {
    const query: string = after === null ? `limit=${pageSize}` : `limit=${pageSize}&after=${encodeURIComponent(after)}`
    const reply = await api<EventPageResponse>('GET', `/groups/${groupId}/events?${query}`, { token })
    if (reply.status !== 200) throw new Error(`events: ${reply.status} ${JSON.stringify(reply.body)}`)
    out.push(...reply.body.events)
    if (reply.body.events.length < pageSize) return out
    after = reply.body.next
  }
}

/** Waits until the feed holds events for which `check` holds, and returns them all. */
export function waitForEvents(api: Api, groupId: string, token: string, check: (events: Event[]) => boolean, label: string, timeoutMs = 15_000): Promise<Event[]> {
  return waitFor(async () => {
    const events = await allEvents(api, groupId, token)
    return check(events) ? events : null
  }, timeoutMs, label)
}

export const ofType = (events: Event[], type: string): Event[] => events.filter((e) => e.type === type)

/** Opens an event stream, reads `count` events, closes it. */
export async function readStream(url: string, groupId: string, token: string, headers: Record<string, string>, count: number): Promise<Event[]> {
  const controller = new AbortController()
  const response = await fetch(`${url}/groups/${groupId}/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}`, ...headers }, signal: controller.signal })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toContain('text/event-stream')
  expect(response.headers.get('x-request-id')).toEqual(expect.any(String))
  expect(response.headers.get('x-content-type-options')).toBe('nosniff') // the security headers every answer has
  const events: Event[] = []
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  await waitFor(async () => {
    const { value, done } = await reader.read()
    if (done) throw new Error('stream ended')
    buffer += value
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const data = block.split('\n').find((line) => line.startsWith('data: '))
      const id = block.split('\n').find((line) => line.startsWith('id: '))
      if (data) {
        const event = JSON.parse(data.slice(6)) as Event
        expect(id).toBe(`id: ${event.id}`)
        events.push(event)
      }
    }
    return events.length >= count
  }, 10_000, `${count} streamed events`)
  controller.abort()
  return events
}
