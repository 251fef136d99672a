/**
 * When a failed delivery is tried again: exponential backoff from WEBHOOK_RETRY_BASE_MS, each
 * wait at most MAX_WAIT_MS, until WEBHOOK_RETRY_WINDOW_MS has passed since the run of retries
 * began; then the delivery is failed (a manual retry starts a new run). An endpoint whose
 * deliveries have failed without a success for WEBHOOK_DISABLE_AFTER_MS is disabled.
 */
export interface RetryPolicy {
  baseMs: number
  windowMs: number
  disableAfterMs: number
}

/** No single wait is longer than this (so a receiver back after an outage is found within hours). */
const MAX_WAIT_MS = 6 * 60 * 60_000

/** When to try attempt `attempts + 1` of a run begun at `firstAt`, or null: give up. */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, firstAt: number, now: number): number | null {
  const end = firstAt + policy.windowMs
  if (now >= end) return null
  const wait = Math.min(MAX_WAIT_MS, policy.baseMs * 2 ** Math.max(0, attempts - 1))
  return Math.min(now + wait, end)
}

export function shouldDisable(policy: RetryPolicy, failingSince: number | null, now: number): boolean {
  return failingSince !== null && now - failingSince >= policy.disableAfterMs
}
