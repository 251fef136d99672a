/**
 * A socket may only set or remove awareness states of client ids it introduced itself.
 *
 * Stock y-websocket clients re-send every awareness change they receive, including other
 * clients' states, and they time out silent peers and send those removals too. So an entry is
 * judged by its effect under y-protocols' clock rule:
 *   - no effect (an echo, a stale clock): passed through, harmless;
 *   - sets a state of an id another socket here owns: impersonation, the socket is closed (1008);
 *   - sets a state of an unowned id: the socket introduces (claims) it, up to a small limit;
 *   - removes a state of an id the socket does not own: dropped, never applied.
 */
import * as encoding from 'lib0/encoding'
import type { Awareness } from 'y-protocols/awareness'
import { CloseCode } from '../../shared/close-codes.ts'
import type { Connection } from './connection.ts'
import type { AwarenessEntry } from './inbound.ts'
import { ProtocolError } from './protocol-error.ts'

export class AwarenessOwners {
  private readonly owners = new Map<number, Connection>()

  /**
   * Returns the update to apply (the original bytes, or a re-encoding without dropped entries),
   * claiming ids the socket introduces; throws ProtocolError on impersonation.
   */
  admit(conn: Connection, entries: AwarenessEntry[], update: Uint8Array, awareness: Awareness): Uint8Array {
    const kept: AwarenessEntry[] = []
    const introduced: number[] = []
    for (const entry of entries) {
      if (conn.awarenessIds.has(entry.clientId) || !wouldApply(awareness, entry)) {
        kept.push(entry)
      } else if (entry.state !== null) {
        this.checkClaim(conn, entry.clientId, introduced)
        introduced.push(entry.clientId)
        kept.push(entry)
      }
    }
    for (const clientId of introduced) {
      conn.awarenessIds.add(clientId)
      this.owners.set(clientId, conn)
    }
    return kept.length === entries.length ? update : encodeEntries(kept)
  }

  /** Forgets the socket's ids; returns them so their states can be removed. */
  release(conn: Connection): number[] {
    const ids = [...conn.awarenessIds]
    for (const id of ids) if (this.owners.get(id) === conn) this.owners.delete(id)
    return ids
  }

  private checkClaim(conn: Connection, clientId: number, introduced: number[]): void {
    const owner = this.owners.get(clientId)
    if (owner !== undefined && owner !== conn) {
      throw new ProtocolError(CloseCode.policyViolation, `awareness client ${clientId} belongs to another socket`)
    }
    if (conn.awarenessIds.size + introduced.length >= conn.awarenessIdLimit) {
      throw new ProtocolError(CloseCode.policyViolation, 'too many awareness client ids')
    }
  }
}

/** y-protocols' rule in `applyAwarenessUpdate`: does this entry change anything? */
function wouldApply(awareness: Awareness, { clientId, clock, state }: AwarenessEntry): boolean {
  const current = awareness.meta.get(clientId)?.clock ?? 0
  return current < clock || (current === clock && state === null && awareness.states.has(clientId))
}

function encodeEntries(entries: AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, JSON.stringify(state))
  }
  return encoding.toUint8Array(encoder)
}
