import { CloseCode, type CloseCodeValue } from '../../shared/close-codes.ts'

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
