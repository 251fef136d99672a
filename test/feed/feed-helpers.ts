/** Reading a group's feed in tests. */
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
