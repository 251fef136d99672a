/**
 * Registering webhooks under attack: concurrent registrations stay within
 * MAX_WEBHOOKS_PER_GROUP (the count and the insert run under a per-group lock), and a refused
 * target's answer says nothing about internal DNS (what a name resolves to, or that it does not).
 */
import { describe, expect, it } from 'vitest'
import { fetchApi, injectApi, type Api } from '../helpers/api.ts'
import { useFreshServer } from '../helpers/server.ts'

const QUOTA = 3

describe('webhook registration', () => {
  const ctx = useFreshServer(() => ({ webhookAllowedHosts: ['127.0.0.1'], maxWebhooksPerGroup: QUOTA, webhookPollMs: 60_000 }))
  const api = (): Api => fetchApi(ctx.server.url)

  it('holds the per-group quota against concurrent registrations', async () => {
    const { fx } = ctx
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => api()('POST', `/groups/${fx.group.id}/webhooks`, { token: fx.token, body: { url: `http://127.0.0.1:9/${i}` } })))
    expect(replies.filter((r) => r.status === 201)).toHaveLength(QUOTA)
    expect(replies.filter((r) => r.status !== 201).map((r) => r.status)).toEqual(Array.from({ length: 30 - QUOTA }, () => 409))
    const listed = await api()<{ webhooks: unknown[] }>('GET', `/groups/${fx.group.id}/webhooks`, { token: fx.token })
    expect(listed.body.webhooks).toHaveLength(QUOTA)
  })
})

describe('a refused webhook target', () => {
  const ctx = useFreshServer(() => ({ webhookAllowedHosts: [] }))
  const api = (): Api => injectApi(ctx.server.app)

  it('gets one answer whatever the reason: an internal name, a name that does not resolve, an internal address', async () => {
    const messages: string[] = []
    for (const url of ['http://localhost:8080/', 'http://no-such-internal-host.invalid/', 'http://10.1.2.3/']) {
      const reply = await api()<{ message: string }>('POST', `/groups/${ctx.fx.group.id}/webhooks`, { token: ctx.fx.token, body: { url } })
      expect(reply.status, url).toBe(400)
      messages.push(reply.body.message)
    }
    expect(new Set(messages).size).toBe(1)
    expect(messages[0]).not.toMatch(/\d+\.\d+\.\d+\.\d+|::|ENOTFOUND|EAI_|getaddrinfo|localhost|invalid/)
  })
})
