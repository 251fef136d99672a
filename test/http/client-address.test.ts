import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { clientAddresses } from '../../server/http/client-address.ts'
import { ClientSocketCap } from '../../server/collab/wire/client-socket-cap.ts'

function request(peer: string, forwardedFor?: string): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } } as unknown as IncomingMessage
}

describe('clientAddresses', () => {
  it('trusts nobody by default: the peer is the client, whatever it forwards', () => {
    const clients = clientAddresses(false)
    expect(clients.isTrustedProxy('10.0.0.5')).toBe(false)
    expect(clients.of(request('10.0.0.5', '203.0.113.7'))).toBe('10.0.0.5')
  })

  it('with a hop count, takes every peer for the proxy and believes that many hops', () => {
    const clients = clientAddresses(1)
    expect(clients.isTrustedProxy('10.0.0.5')).toBe(true)
    expect(clients.of(request('10.0.0.5', '203.0.113.7'))).toBe('203.0.113.7')
    // A client-chosen address before the proxy's own entry is not believed.
    expect(clients.of(request('10.0.0.5', '198.51.100.1, 203.0.113.7'))).toBe('203.0.113.7')
  })

  it('with addresses, trusts only those peers', () => {
    const clients = clientAddresses(['10.0.0.0/24'])
    expect(clients.isTrustedProxy('10.0.0.5')).toBe(true)
    expect(clients.isTrustedProxy('10.0.1.5')).toBe(false)
    expect(clients.of(request('10.0.0.5', '203.0.113.7'))).toBe('203.0.113.7')
    expect(clients.of(request('10.0.1.5', '203.0.113.7'))).toBe('10.0.1.5')
  })
})

describe('ClientSocketCap', () => {
  it('counts sockets per client up to the cap, IPv6 per /64, and frees a place on release', () => {
    const cap = new ClientSocketCap(2)
    expect(cap.take('203.0.113.7')).toBe(true)
    expect(cap.take('203.0.113.7')).toBe(true)
    expect(cap.take('203.0.113.7')).toBe(false)
    expect(cap.take('203.0.113.8')).toBe(true)
    expect(cap.openFrom('203.0.113.7')).toBe(2)
    cap.release('203.0.113.7')
    expect(cap.take('203.0.113.7')).toBe(true)
    expect(cap.take('2001:db8::1')).toBe(true)
    expect(cap.take('2001:db8::2')).toBe(true)
    expect(cap.take('2001:db8::3')).toBe(false) // the same /64
    expect(cap.take('2001:db8:0:1::1')).toBe(true)
  })

  it('counts nothing at 0', () => {
    const cap = new ClientSocketCap(0)
    for (let i = 0; i < 5; i++) expect(cap.take('203.0.113.7')).toBe(true)
    expect(cap.openFrom('203.0.113.7')).toBe(0)
  })
})
