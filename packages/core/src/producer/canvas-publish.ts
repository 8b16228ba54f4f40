import { randomUUID } from 'node:crypto';
import { ConfigError, UnsupportedError } from '../errors.js';
import type { Signature } from '../message.js';
import { hasChordJoin, type ResultBackend } from '../result-backend.js';
import { messageFromSignature } from '../signature-message.js';
import type { Publisher } from './client-interceptor.js';

/**
 * Publishes a group: every member at once, tagged with the group id and its index (Celery's
 * `group(...)`). Returns the members' task ids in order.
 */
export async function publishGroup(
  broker: Publisher,
  members: readonly Signature[],
  groupId = randomUUID(),
): Promise<string[]> {
  const out = members.map((sig, i) => {
    const id = String(sig.options.task_id ?? randomUUID());
    return messageFromSignature(
      { ...sig, options: { ...sig.options, task_id: id, group_id: groupId, group_index: i } },
      [],
      {
        id,
        rootId: id,
      },
    );
  });
  for (const o of out) o.message.headers.parent_id = null;
  await broker.publishMany(out);
  return out.map((o) => o.message.headers.id);
}

/**
 * Publishes a chord: the header runs as a group; when its last member finishes, the body runs with
 * the list of header results (in header order) as its first argument. As in Celery, the chord size
 * is recorded in the backend before any header member is published. A backend that does not declare
 * `capabilities.chord` fails with `UnsupportedError` before anything is published.
 */
export async function publishChord(
  broker: Publisher,
  backend: ResultBackend | undefined,
  header: readonly Signature[],
  body: Signature,
): Promise<{ groupId: string; bodyId: string; memberIds: string[] }> {
  if (!backend) throw new ConfigError('a chord needs a result backend: the join is counted there');
  // Up front: a header published without a join would run, and its body never would.
  if (!hasChordJoin(backend)) throw new UnsupportedError(`${backend.name} result backend`, 'chords');
  if (header.length === 0) throw new ConfigError('a chord needs at least one header task');
  const groupId = randomUUID();
  const bodyId = String(body.options.task_id ?? randomUUID());
  const frozenBody: Signature = { ...body, options: { ...body.options, task_id: bodyId, group_id: groupId } };
  await backend.setChordSize(groupId, header.length);
  const members = header.map((sig) => ({ ...sig, options: { ...sig.options, chord: frozenBody } }));
  const memberIds = await publishGroup(broker, members, groupId);
  return { groupId, bodyId, memberIds };
}
