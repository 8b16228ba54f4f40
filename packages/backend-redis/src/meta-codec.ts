import { BrokerError, type ResultMeta } from '@celeriac/core';
import { type ChordPart, decodeJson, encodeJson } from '@celeriac/core/adapter';
import { ADAPTER } from './errors.js';

/** Celery's field order (`_get_result_meta`), so stored text reads like a Python worker's. */
const FIELD_ORDER = [
  'status',
  'result',
  'traceback',
  'children',
  'date_done',
  'group_id',
  'parent_id',
  'name',
  'args',
  'kwargs',
  'worker',
  'retries',
  'queue',
] as const;

/**
 * Serialises a meta as kombu JSON. Only the key order changes (Celery's, `task_id` last); values
 * are written as given.
 */
export function encodeMeta(meta: ResultMeta): string {
  // Built in order without deleting a key: `delete` would turn the object into a slow dictionary.
  const ordered: Record<string, unknown> = {};
  for (const field of FIELD_ORDER) if (field in meta) ordered[field] = meta[field];
  for (const field in meta) {
    if (field !== 'task_id' && !(field in ordered)) ordered[field] = meta[field];
  }
  ordered.task_id = meta.task_id;
  return encodeJson(ordered);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a stored meta. Missing optional fields (older writers, hand-made metas) get Celery's
 * defaults; anything that is not a meta object at all is a non-retriable {@link BrokerError}.
 */
export function decodeMeta(text: string, taskId: string, key: string): ResultMeta {
  let value: unknown;
  try {
    value = decodeJson(text);
  } catch (error) {
    throw new BrokerError(ADAPTER, `value under ${key} is not JSON`, false, { cause: error });
  }
  if (!isRecord(value) || typeof value.status !== 'string') {
    throw new BrokerError(ADAPTER, `value under ${key} is not a Celery task meta (no "status")`, false);
  }
  return {
    ...value,
    status: value.status,
    result: value.result ?? null,
    traceback: typeof value.traceback === 'string' ? value.traceback : null,
    children: Array.isArray(value.children) ? value.children : [],
    date_done: typeof value.date_done === 'string' ? value.date_done : null,
    task_id: typeof value.task_id === 'string' ? value.task_id : taskId,
  };
}

/** Celery's chord join member: `[1, task_id, state, result]` (`redis.py`, `on_chord_part_return`). */
export function encodeChordMember(part: ChordPart): string {
  return encodeJson([1, part.taskId, part.state, part.result]);
}

/** Parses a chord join member and its zset score back into a {@link ChordPart}. */
export function decodeChordMember(member: string, score: string, key: string): ChordPart {
  let value: unknown;
  try {
    value = decodeJson(member);
  } catch (error) {
    throw new BrokerError(ADAPTER, `member of ${key} is not JSON`, false, { cause: error });
  }
  if (
    !Array.isArray(value) ||
    value.length < 4 ||
    typeof value[1] !== 'string' ||
    typeof value[2] !== 'string'
  ) {
    throw new BrokerError(ADAPTER, `member of ${key} is not [1, task_id, state, result]`, false);
  }
  // Celery scores a part without group_index as +inf; Redis spells it "inf".
  const index = /^\+?inf$/i.test(score) ? Number.POSITIVE_INFINITY : Number(score);
  return { index, taskId: value[1], state: value[2], result: value[3] };
}
