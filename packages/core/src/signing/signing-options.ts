import { ConfigError } from '../errors.js';

/** One signing key: an id that travels with each signature, and the shared secret. */
export interface SigningKey {
  /** Names the key in the `x-celeriac-signature-key` header; not secret. */
  readonly id: string;
  /** The HMAC-SHA256 secret shared by producers and workers: at least 16 bytes, ideally 32 random ones. */
  readonly secret: string | Uint8Array;
}

/**
 * Message signing (opt-in): HMAC-SHA256 over the headers that decide what runs and how, and the
 * body. Producers sign with one key; workers accept any key in `keys` and refuse everything else.
 * To rotate: add the new key to every worker's `keys`, then sign with it (`sign`) on the producers,
 * then remove the old key.
 */
export interface SigningOptions {
  /** Keys accepted when verifying; the first one signs unless `sign` names another. */
  readonly keys: readonly SigningKey[];
  /** The id of the key that signs. @default the first key's */
  readonly sign?: string;
}

/** Signing options checked once and ready to use. */
export interface SigningKeys {
  /** Secret by key id. */
  readonly secrets: ReadonlyMap<string, Buffer>;
  /** The key that signs. */
  readonly signer: { readonly id: string; readonly secret: Buffer };
}

const MIN_SECRET_BYTES = 16;

/** Checks signing options (a key, unique ids, long enough secrets, a known `sign`); `ConfigError` if not. */
export function resolveSigning(options: SigningOptions): SigningKeys {
  if (!Array.isArray(options.keys) || options.keys.length === 0)
    throw new ConfigError('signing.keys must list at least one key');
  const secrets = new Map<string, Buffer>();
  for (const key of options.keys) {
    if (typeof key.id !== 'string' || key.id === '')
      throw new ConfigError('a signing key needs a non-empty id');
    if (secrets.has(key.id)) throw new ConfigError(`signing key ${key.id} is listed twice`);
    const secret = typeof key.secret === 'string' ? Buffer.from(key.secret, 'utf8') : Buffer.from(key.secret);
    if (secret.length < MIN_SECRET_BYTES)
      throw new ConfigError(`signing key ${key.id} is shorter than ${MIN_SECRET_BYTES} bytes`);
    secrets.set(key.id, secret);
  }
  const id = options.sign ?? (options.keys[0] as SigningKey).id;
  const secret = secrets.get(id);
  if (!secret) throw new ConfigError(`signing.sign names key ${id}, which is not in signing.keys`);
  return { secrets, signer: { id, secret } };
}
