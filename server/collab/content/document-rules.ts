/** The rules of each kind of group document. */
import type { RoomKind } from '../../../shared/rooms.ts'
import { CanvasRules } from './canvas-rules.ts'
import { ChatRules, type ChatRuleOptions } from './chat-rules.ts'
import type { DocumentRules } from './rules.ts'

export type RuleOptions = ChatRuleOptions

export function rulesFor(kind: RoomKind, options: RuleOptions): DocumentRules {
  return kind === 'canvas' ? new CanvasRules() : new ChatRules(options)
}
