/** Standard Webhooks signatures and the retry schedule. */
import { createHmac } from 'node:crypto'
import { expect, it } from 'vitest'
import { nextAttemptAt, shouldDisable } from '../../server/webhooks/retry-policy.ts'
import { newSecret, sign, signedHeaders } from '../../server/webhooks/signing.ts'

it('signs as the Standard Webhooks example vector says', () => {
  // The specification's (and Svix's) published example.
  expect(sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
})

it('makes 32-byte secrets and headers a receiver can check', () => {
  const secret = newSecret()
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
  expect(newSecret()).not.toBe(secret)
  const headers = signedHeaders(secret, 'g.1', '{"a":1}', 1_700_000_000_999)
  expect(headers['webhook-timestamp']).toBe('1700000000')
  const key = Buffer.from(secret.slice(6), 'base64')
  expect(headers['webhook-signature']).toBe(`v1,${createHmac('sha256', key).update('g.1.1700000000.{"a":1}').digest('base64')}`)
})

it('backs off exponentially within the retry window, then gives up; disables after failing long', () => {
  const policy = { baseMs: 5_000, windowMs: 86_400_000, disableAfterMs: 86_400_000 }
  const waits = [1, 2, 3, 4, 5].map((attempts) => nextAttemptAt(policy, attempts, 0, 1_000)! - 1_000)
  expect(waits).toEqual([5_000, 10_000, 20_000, 40_000, 80_000])
  expect(nextAttemptAt(policy, 30, 0, 1_000)! - 1_000).toBe(6 * 3_600_000) // each wait at most 6 h
  expect(nextAttemptAt(policy, 3, 0, 86_399_000)).toBe(86_400_000) // never past the window
  expect(nextAttemptAt(policy, 3, 0, 86_400_000)).toBeNull()
  expect(shouldDisable(policy, null, 1e12)).toBe(false)
  expect(shouldDisable(policy, 0, 86_399_999)).toBe(false)
  expect(shouldDisable(policy, 0, 86_400_000)).toBe(true)
})
