/**
 * The connection indicator for a group page: `data-status` is connected (every document synced),
 * connecting (trying), or offline (the browser is offline, or the server refused us).
 */
import { h, type View } from '../dom.ts'
import type { RoomConnection } from './room-connection.ts'

export type ConnectionStatus = 'connected' | 'connecting' | 'offline'

const LABELS: Record<ConnectionStatus, string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  offline: 'Offline — edits are kept and sync when back',
}

export function connectionStatus(connections: readonly RoomConnection[]): ConnectionStatus {
  if (!navigator.onLine || connections.some((c) => c.problem !== null)) return 'offline'
  if (connections.every((c) => c.connected)) return 'connected'
  return connections.some((c) => c.provider.shouldConnect) ? 'connecting' : 'offline'
}

export function statusIndicator(connections: readonly RoomConnection[]): View {
  const label = h('span', { class: 'status-label' })
  const element = h('span', { class: 'status', 'data-testid': 'connection-status', role: 'status' }, h('span', { class: 'status-dot', 'aria-hidden': 'true' }), label)
  const update = (): void => {
    const status = connectionStatus(connections)
    element.dataset.status = status
    label.textContent = LABELS[status]
  }
  const unsubscribe = connections.map((c) => c.onChange(update))
  update()
  return { element, dispose: () => unsubscribe.forEach((off) => off()) }
}
