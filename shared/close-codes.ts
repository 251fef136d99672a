/**
 * WebSocket close codes the server uses, by name. Clients (and tests) match on these.
 *
 * y-websocket's `WebsocketProvider` (v3) stops reconnecting on 4400-4499 and retries on
 * everything else, so permanent refusals live in that range and transient ones do not.
 */
export const CloseCode = {
  normal: 1000,
  unsupportedData: 1003,
  /** A frame that does not decode as the y-websocket protocol, or a malformed Yjs update. */
  invalidData: 1007,
  /** A well-formed message the socket is not allowed to send (e.g. foreign awareness ids). */
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  /** The node is shutting down; reconnect (possibly to another node). */
  serviceRestart: 1012,
  /** The room cannot be served right now (storage down, slow consumer); retry with backoff. */
  tryAgainLater: 1013,
  /** Missing, expired or invalid token. Terminal for y-websocket clients. */
  unauthorized: 4401,
  /** Authenticated but not a member (or membership revoked). Terminal for y-websocket clients. */
  forbidden: 4403,
  /** The room name does not name a group document. Terminal for y-websocket clients. */
  notFound: 4404,
  /** The document has reached its size limit (MAX_DOC_BYTES). Terminal. */
  documentTooLarge: 4413,
  /**
   * An update broke the document's rules (shape, authorship, deleting what one may not) or used
   * a Yjs client id that belongs to another user. Nothing of it was kept. Terminal.
   */
  updateRefused: 4422,
  /** The socket spent its presence or sync budget (a flood, not an honest client). Terminal. */
  rateLimited: 4429,
  /** The user wrote more than their per-minute share of this document; reconnect later. */
  writeQuotaExceeded: 4529,
} as const

export type CloseCodeName = keyof typeof CloseCode
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName]
