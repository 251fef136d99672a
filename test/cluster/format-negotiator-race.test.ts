/**
 * The negotiator's judgement of a node heard without a version, against a registry whose listing
 * the test holds open, on a clock the test sets: a node heard in the very millisecond a listing
 * began may have registered after that listing read the registry, so only a later listing that
 * still lacks it makes it an old node (the flake CI met: a new node taken for an old one).
 */
import pino from 'pino'
import { expect, it } from 'vitest'
import { FormatNegotiator } from '../../server/cluster/format-negotiator.ts'
import type { FormatRegistry, RegistryEntry } from '../../server/cluster/format-registry.ts'
import { CURRENT_GENERATION, generation } from '../../server/cluster/wire-format.ts'
import { waitFor } from '../helpers/wait.ts'

/** A registry in memory whose `list` answers what was registered when it was called, once released. */
class HeldRegistry {
  readonly entries = new Map<string, RegistryEntry>()
  private held: Array<() => void> = []
  holding = false
  async announce(node: string, gen: number): Promise<void> {
    this.entries.set(node, { node, generation: gen, reads: generation(gen).reads })
  }
  async withdraw(node: string): Promise<void> {
    this.entries.delete(node)
  }
  async watch(): Promise<() => Promise<void>> {
    return async () => {}
  }
  async list(): Promise<RegistryEntry[]> {
    const snapshot = [...this.entries.values()] // read now: what registers later is not in it
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve))
    return snapshot
  }
  release(): void {
    for (const resolve of this.held.splice(0)) resolve()
  }
  get waiting(): number {
    return this.held.length
  }
}

it('does not take a node for an old one when it was heard in the millisecond a listing that lacks it began', async () => {
  const registry = new HeldRegistry()
  const now = 1_000
  const a = new FormatNegotiator({ nodeId: 'node-a', generation: CURRENT_GENERATION, registry: registry as unknown as FormatRegistry, logger: pino({ level: 'silent' }), timing: { heartbeatMs: 60_000, startupWindowMs: 0 }, now: () => now })
  await a.start()
  try {
    registry.holding = true
    a.heardUnversioned('node-b') // starts a listing at ms 1000, before node-b's entry is written
    await waitFor(() => registry.waiting === 1, 2_000, 'the listing under way')
    await registry.announce('node-b', CURRENT_GENERATION)
    a.heardUnversioned('node-b') // heard again in the same millisecond
    registry.holding = false
    registry.release()
    await waitFor(() => a.status().nodes.some((n) => n.node === 'node-b'), 2_000, 'node-b listed')
    expect(a.status().nodes).toEqual([{ node: 'node-b', generation: CURRENT_GENERATION }])
    expect(a.status().oldNodes).toEqual([])
  } finally {
    await a.close()
  }
})
