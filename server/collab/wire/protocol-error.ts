import { CloseCode, type CloseCodeValue } from '../../../shared/close-codes.ts'
import type { Logger } from '../../logger.ts'
import type { Connection } from './connection.ts'
import type { CollabObserver } from '../observer.ts'

/** A message this socket must not send; the socket is closed with `code`. */
export class ProtocolError extends Error {
  override name = 'ProtocolError'
  readonly code: CloseCodeValue

  constructor(code: CloseCodeValue, message: string) {
    super(message)
    this.code = code
  }

  static invalid(message: string): ProtocolError {
    return new ProtocolError(CloseCode.invalidData, message)
  }
}

/**
 * Closes the socket whose message failed: with the error's code for a ProtocolError, 1011 for
 * anything else (our bug, logged as one).
 */
export function rejectFrame(conn: Connection, error: unknown, context: { room: string; logger: Logger; observer: CollabObserver }): void {
  const { room, logger, observer } = context
  if (error instanceof ProtocolError) {
    observer.frameRejected(reasonLabel(error.code))
    logger.info({ room, user: conn.principal.userId, reason: error.message }, 'closing socket after a bad frame')
    conn.close(error.code, error.message)
    return
  }
  observer.frameRejected('internal')
  logger.error({ err: error, room }, 'message handler failed')
  conn.close(CloseCode.internalError, 'internal error')
}

function reasonLabel(code: number): string {
  const entry = Object.entries(CloseCode).find(([, value]) => value === code)
  return entry ? entry[0] : String(code)
}
