/**
 * Feed events of REST writes: membership, versions, rollbacks, group deletion. Each is recorded
 * by the node that made the change, once, after the change succeeded. The services are wrapped
 * here rather than edited, so the feed observes what they return (its actor and outcome) without
 * reaching into how they do it.
 */
import { newId } from '../../shared/ids.ts'
import type { Services } from '../services.ts'
import type { NewEvent } from '../storage/feed-types.ts'
import type { FeedRecorder } from './feed-recorder.ts'

type Emit = (groupId: string, type: string, actor: string, data: Record<string, unknown>) => Promise<void>

export function recordServiceEvents(services: Services, recorder: FeedRecorder, afterGroupDeleted: (groupId: string) => Promise<void>): void {
  const emit: Emit = (groupId, type, actor, data) => recorder.recordMade(groupId, made(type, actor, data))
  recordMembers(services, emit)
  recordHistory(services, emit)
  const { groups } = services
  const transfer = groups.transfer.bind(groups)
  groups.transfer = async (actor, groupId, to) => {
    const view = await transfer(actor, groupId, to)
    await emit(groupId, 'member.role_changed', actor, { userId: actor, role: 'editor' })
    await emit(groupId, 'member.role_changed', actor, { userId: to, role: 'owner' })
    return view
  }
  const remove = groups.delete.bind(groups)
  groups.delete = async (actor, groupId) => {
    await remove(actor, groupId)
    await emit(groupId, 'group.deleted', actor, {})
    await afterGroupDeleted(groupId)
  }
}

function recordMembers({ members, invites }: Services, emit: Emit): void {
  const setRole = members.setRole.bind(members)
  members.setRole = async (actor, groupId, userId, role) => {
    const view = await setRole(actor, groupId, userId, role)
    await emit(groupId, 'member.role_changed', actor, { userId, role })
    return view
  }
  const remove = members.remove.bind(members)
  members.remove = async (actor, groupId, userId) => {
    await remove(actor, groupId, userId)
    if (userId !== actor) await emit(groupId, 'member.removed', actor, { userId }) // removing oneself is leaving, recorded there
  }
  const leave = members.leave.bind(members)
  members.leave = async (actor, groupId) => {
    await leave(actor, groupId)
    await emit(groupId, 'member.removed', actor, { userId: actor, left: true })
  }
  const accept = invites.accept.bind(invites)
  invites.accept = async (actor, code) => {
    const group = await accept(actor, code)
    await emit(group.id, 'member.added', actor, { userId: actor, role: group.role })
    return group
  }
}

function recordHistory({ history }: Services, emit: Emit): void {
  const name = history.name.bind(history)
  history.name = async (actor, groupId, doc, label) => {
    const version = await name(actor, groupId, doc, label)
    await emit(groupId, 'version.created', actor, { doc, version: { id: version.id, name: version.name } })
    return version
  }
  const restore = history.restore.bind(history)
  history.restore = async (actor, groupId, versionId) => {
    const done = await restore(actor, groupId, versionId)
    await emit(groupId, 'version.restored', actor, { versionId, preRestore: { id: done.preRestore.id } })
    return done
  }
  const rollback = history.rollback.bind(history)
  history.rollback = async (actor, groupId, input) => {
    const done = await rollback(actor, groupId, input)
    await emit(groupId, 'rollback.done', actor, { doc: input.doc, userId: input.userId, since: input.since, removed: done.removed, restored: done.restored })
    return done
  }
}

/** A REST change is recorded once, by the node that made it: its key only has to be unique. */
function made(type: string, actor: string, data: Record<string, unknown>): NewEvent {
  return { key: `rest:${newId()}`, type, at: Date.now(), actor, data }
}
