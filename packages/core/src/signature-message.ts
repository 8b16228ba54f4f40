import type { OutgoingMessage } from './broker.js';
import { EncodeError } from './errors.js';
import { createTaskMessage, DEFAULT_QUEUE, parseCeleryDate, type Signature } from './message.js';

function opt<T>(options: Record<string, unknown>, key: string): T | undefined {
  return options[key] as T | undefined;
}

function isRecord(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A signature comes off the wire (a message's callbacks, chain, chord): one that is not a signature
 * can never become a message, whoever tries, so it fails the same way every time.
 */
function checkSignature(sig: Signature): void {
  const s = sig as unknown as Record<string, unknown>;
  const ok =
    isRecord(s) &&
    typeof s.task === 'string' &&
    (s.args == null || Array.isArray(s.args)) &&
    (s.kwargs == null || isRecord(s.kwargs)) &&
    (s.options == null || isRecord(s.options));
  if (!ok) throw new EncodeError(`a canvas signature in the message is not a signature: ${preview(sig)}`);
}

function preview(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return typeof value;
  }
}

/**
 * Turns a Celery signature into a message, as Celery's `Signature.apply_async` does: the parent's
 * result is prepended to the args unless the signature is immutable.
 */
export function messageFromSignature(
  sig: Signature,
  prepend: readonly unknown[],
  parent: { id: string; rootId: string },
  extra: { chain?: Signature[] | null } = {},
): OutgoingMessage {
  checkSignature(sig);
  const o = sig.options ?? {};
  const now = Date.now();
  const countdown = opt<number>(o, 'countdown');
  const eta = parseCeleryDate(opt(o, 'eta')) ?? (countdown ? new Date(now + countdown * 1000) : null);
  const id = opt<string>(o, 'task_id');
  const message = createTaskMessage({
    task: sig.task,
    args: sig.immutable ? [...(sig.args ?? [])] : [...prepend, ...(sig.args ?? [])],
    kwargs: { ...sig.kwargs },
    embed: {
      callbacks: opt<Signature[]>(o, 'link') ?? null,
      errbacks: opt<Signature[]>(o, 'link_error') ?? null,
      chain: extra.chain && extra.chain.length > 0 ? extra.chain : null,
      chord: opt<Signature>(o, 'chord') ?? null,
    },
    eta,
    expires: parseCeleryDate(opt(o, 'expires')),
    parentId: parent.id,
    rootId: parent.rootId,
    group: opt<string>(o, 'group_id') ?? null,
    groupIndex: opt<number>(o, 'group_index') ?? null,
    ...(opt<number>(o, 'priority') !== undefined ? { priority: opt<number>(o, 'priority') as number } : {}),
    timeLimitMs: opt<number>(o, 'time_limit') ? (opt<number>(o, 'time_limit') as number) * 1000 : null,
    softTimeLimitMs: opt<number>(o, 'soft_time_limit')
      ? (opt<number>(o, 'soft_time_limit') as number) * 1000
      : null,
    ...(id ? { id } : {}),
  });
  const delayMs = eta ? eta.getTime() - now : 0;
  return { queue: opt<string>(o, 'queue') ?? DEFAULT_QUEUE, message, ...(delayMs > 0 ? { delayMs } : {}) };
}
