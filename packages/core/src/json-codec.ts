/**
 * JSON with kombu's type tags (`{"__type__": t, "__value__": v}`, kombu ≥ 5.3), so dates and bytes
 * survive a round trip with Python. Readers also accept the untagged form older kombu sends.
 */

import { EncodeError } from './errors.js';

/** A decoded kombu `decimal` or `uuid`, kept as a branded string so it can be sent back tagged. */
export interface TaggedString {
  readonly __celeriacTag: 'decimal' | 'uuid';
  readonly value: string;
}

/** Options for {@link encodeJson}. */
export interface EncodeJsonOptions {
  /** Emit kombu type tags for Date and bytes. Off for peers running kombu < 5.3. @default true */
  readonly tags?: boolean;
}

function isTaggedString(v: unknown): v is TaggedString {
  return typeof v === 'object' && v !== null && '__celeriacTag' in v;
}

function toPythonIso(d: Date): string {
  // Python < 3.11 `fromisoformat` rejects `Z`; an explicit offset works everywhere.
  return d.toISOString().replace('Z', '+00:00');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function tagBytes(bytes: Uint8Array): { __type__: string; __value__: string } {
  try {
    return { __type__: 'bytes', __value__: utf8.decode(bytes) };
  } catch {
    return { __type__: 'base64', __value__: Buffer.from(bytes).toString('base64') };
  }
}

/** True when `value` holds something plain JSON cannot carry as is (dates, bytes, tagged strings, bigints). */
function needsReplacer(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint';
  if (value instanceof Date || value instanceof Uint8Array || isTaggedString(value)) return true;
  // Very deep values: take the careful path rather than recurse further.
  if (depth > 32) return true;
  if (Array.isArray(value)) return value.some((v) => needsReplacer(v, depth + 1));
  for (const key in value) if (needsReplacer((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

/** A BigInt as a JSON number when that number is exact; else an {@link EncodeError}, never a silent loss. */
function bigintToNumber(v: bigint): number {
  const n = Number(v);
  if (Number.isSafeInteger(n)) return n;
  throw new EncodeError(`BigInt ${v} has no exact JSON number; send it as a string`);
}

/**
 * Serialises a value as kombu-compatible JSON. Throws {@link EncodeError} for a value JSON cannot
 * carry (a circular reference, a throwing `toJSON`, a BigInt beyond 2^53): the same value always
 * fails the same way.
 */
export function encodeJson(value: unknown, options: EncodeJsonOptions = {}): string {
  try {
    return encode(value, options);
  } catch (error) {
    if (error instanceof EncodeError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new EncodeError(`value cannot be encoded as JSON: ${reason}`, { cause: error });
  }
}

/**
 * The JSON of a value that holds nothing kombu tags (no dates, bytes, tagged strings, bigints):
 * the text {@link encodeJson} writes for it, and `JSON.stringify`'s. `undefined` for a value that
 * needs the tagging encoder, or that JSON cannot carry (let {@link encodeJson} say why).
 */
export function plainJson(value: unknown): string | undefined {
  if (needsReplacer(value)) return undefined;
  try {
    return JSON.stringify(value) as string | undefined;
  } catch {
    return undefined;
  }
}

function encode(value: unknown, options: EncodeJsonOptions): string {
  // Fast path: a replacer function costs on every value, and most payloads are plain JSON.
  if (!needsReplacer(value)) return JSON.stringify(value);
  const tags = options.tags ?? true;
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key: string, v: unknown) {
    // `v` has already gone through toJSON (Date → string, Buffer → {type,data}); look at the raw value.
    const raw = this[key];
    if (raw instanceof Date)
      return tags ? { __type__: 'datetime', __value__: toPythonIso(raw) } : toPythonIso(raw);
    if (raw instanceof Uint8Array) return tags ? tagBytes(raw) : Buffer.from(raw).toString('utf8');
    if (isTaggedString(raw)) {
      if (!tags) return raw.value;
      return raw.__celeriacTag === 'uuid'
        ? { __type__: 'uuid', __value__: { hex: raw.value.replace(/-/g, '') } }
        : { __type__: 'decimal', __value__: raw.value };
    }
    if (typeof v === 'bigint') return bigintToNumber(v);
    return v;
  });
}

function formatUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function untag(type: unknown, value: unknown): unknown {
  switch (type) {
    case 'datetime':
      return typeof value === 'string'
        ? new Date(/(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`)
        : value;
    case 'date':
    case 'time':
      return value;
    case 'decimal':
      return { __celeriacTag: 'decimal', value: String(value) } satisfies TaggedString;
    case 'uuid': {
      const hex = typeof value === 'object' && value !== null ? (value as { hex?: unknown }).hex : value;
      return typeof hex === 'string' ? formatUuid(hex.replace(/-/g, '')) : value;
    }
    case 'bytes':
      return typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'utf8')) : value;
    case 'base64':
      return typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : value;
    default:
      return undefined;
  }
}

function reviver(_key: string, v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 2 && '__type__' in v && '__value__' in v) {
      const o = v as { __type__: unknown; __value__: unknown };
      const out = untag(o.__type__, o.__value__);
      // An unknown tag is left as it is rather than failing the whole message.
      return out === undefined ? v : out;
    }
  }
  return v;
}

/**
 * Replaces the bare `NaN`, `Infinity` and `-Infinity` tokens Python's `json.dumps` emits
 * (outside strings) with `null`, which is what JS would have produced.
 */
function stripNonFinite(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (text.startsWith('NaN', i)) {
      out += 'null';
      i += 2;
    } else if (text.startsWith('-Infinity', i)) {
      out += 'null';
      i += 8;
    } else if (text.startsWith('Infinity', i)) {
      out += 'null';
      i += 7;
    } else out += c;
  }
  return out;
}

/** Parses kombu JSON, decoding type tags. Throws `SyntaxError` on text that is not JSON. */
export function decodeJson(text: string): unknown {
  try {
    // Fast path: without a tag there is nothing for the reviver to do.
    return text.includes('"__type__"') ? JSON.parse(text, reviver) : JSON.parse(text);
  } catch (error) {
    if (/NaN|Infinity/.test(text)) return JSON.parse(stripNonFinite(text), reviver);
    throw error;
  }
}
