import type { Authorizer, AuthResult } from './authorizer.ts'

/** Lets everyone in as an editor. Only for running the protocol core without accounts. */
export class OpenAuthorizer implements Authorizer {
  async authorize(): Promise<AuthResult> {
    return { ok: true, principal: { userId: 'anonymous', name: 'Anonymous', role: 'editor' } }
  }
}
