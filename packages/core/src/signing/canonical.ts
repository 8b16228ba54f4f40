/**
 * The signed form of a message: the same text on the producer, which holds the message it built,
 * and on the worker, which holds what the transport decoded. So it is built from values as they
 * come out of a decode (kombu JSON, the embed and headers filled in as the decoder fills them),
 * with object keys sorted, and never from the bytes a transport happened to write.
 */
import { decodeJson, encodeJson } from '../json-codec.js';
import type { TaskHeaders, TaskMessage } from '../message.js';
import { RESULT_TTL_HEADER } from '../result-ttl.js';
import { RETRY_POLICY_HEADER } from '../retry-policy.js';

/** Header carrying the signature (base64url HMAC-SHA256). */
export const SIGNATURE_HEADER = 'x-celeriac-signature';
/** Header naming the key that signed. */
export const SIGNATURE_KEY_HEADER = 'x-celeriac-signature-key';
const VERSION = 'celeriac-signature-v1';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Plain JSON data as a decoder would hand it back, tags kept as tag objects. */
function asDecoded(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(encodeJson(decodeJson(encodeJson(value) ?? 'null')) ?? 'null');
}

/** JSON text with object keys sorted at every level. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The embed as the decoder fills it in: the four canvas keys always there, `null` when absent. */
function filledEmbed(embed: unknown): unknown {
  if (!isRecord(embed)) return null;
  return {
    ...embed,
    callbacks: Array.isArray(embed.callbacks) ? embed.callbacks : null,
    errbacks: Array.isArray(embed.errbacks) ? embed.errbacks : null,
    chain: Array.isArray(embed.chain) ? embed.chain : null,
    chord: isRecord(embed.chord) ? embed.chord : null,
  };
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The headers that decide what runs, when, how often and where its result goes. */
function signedHeaders(h: Readonly<TaskHeaders>): Record<string, unknown> {
  const timelimit = Array.isArray(h.timelimit) ? h.timelimit : [null, null];
  return {
    task: str(h.task),
    id: str(h.id),
    eta: str(h.eta),
    expires: str(h.expires),
    group: str(h.group),
    group_index: num(h.group_index),
    retries: num(h.retries) ?? 0,
    timelimit: [num(timelimit[0]), num(timelimit[1])],
    root_id: str(h.root_id) ?? str(h.id),
    parent_id: str(h.parent_id),
    ignore_result: h.ignore_result === true,
    [RETRY_POLICY_HEADER]: asDecoded(h[RETRY_POLICY_HEADER]),
    [RESULT_TTL_HEADER]: asDecoded(h[RESULT_TTL_HEADER]),
  };
}

/**
 * The text a message's signature is computed over: the version, the key id, the signed headers and
 * the body `[args, kwargs, embed]`. Throws `EncodeError` for a body JSON cannot carry.
 */
export function signingInput(message: TaskMessage, keyId: string): string {
  const [args, kwargs, embed] = message.body;
  const body = [asDecoded(args), asDecoded(kwargs), filledEmbed(asDecoded(embed))];
  return sortedJson([VERSION, keyId, signedHeaders(message.headers), body]);
}
