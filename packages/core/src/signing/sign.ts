import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureError } from '../errors.js';
import type { TaskMessage } from '../message.js';
import type { ClientInterceptor } from '../producer/client-interceptor.js';
import { SIGNATURE_HEADER, SIGNATURE_KEY_HEADER, signingInput } from './canonical.js';
import { resolveSigning, type SigningKeys, type SigningOptions } from './signing-options.js';

function hmac(secret: Buffer, text: string): Buffer {
  return createHmac('sha256', secret).update(text, 'utf8').digest();
}

/** Signs a message in place with the signing key: the key id and the signature go in its headers. */
export function signMessage(message: TaskMessage, keys: SigningKeys): void {
  const { id, secret } = keys.signer;
  message.headers[SIGNATURE_KEY_HEADER] = id;
  message.headers[SIGNATURE_HEADER] = hmac(secret, signingInput(message, id)).toString('base64url');
}

/**
 * Why a message fails verification against `keys`, or `undefined` when it is signed by one of them
 * and unchanged since. Compares in constant time.
 */
export function verifyMessage(message: TaskMessage, keys: SigningKeys): SignatureError | undefined {
  const { id: taskId, task } = message.headers;
  const claims = `task ${String(task)} (id ${String(taskId)})`;
  const keyId = message.headers[SIGNATURE_KEY_HEADER];
  const given = message.headers[SIGNATURE_HEADER];
  if (typeof keyId !== 'string' || typeof given !== 'string')
    return new SignatureError('unsigned', `message for ${claims} carries no signature`);
  const secret = keys.secrets.get(keyId);
  if (!secret)
    return new SignatureError(
      'unknown-key',
      `message for ${claims} is signed with unknown key ${keyId.slice(0, 64)}`,
    );
  let expected: Buffer;
  try {
    expected = hmac(secret, signingInput(message, keyId));
  } catch {
    return new SignatureError('bad-signature', `message for ${claims} cannot be put in signed form`);
  }
  const actual = Buffer.from(given, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    return new SignatureError('bad-signature', `message for ${claims} does not match its signature`);
  return undefined;
}

/**
 * A client interceptor that signs every message it publishes. `createClient({ signing })` and
 * `createWorker({ signing })` add it themselves, after any interceptors of their own, so it signs
 * the message as it is finally sent; use it directly to place it elsewhere.
 *
 * @example
 * ```ts
 * const client = createClient({ broker, backend, interceptors: [tracing, signingInterceptor(signing)] });
 * ```
 */
export function signingInterceptor(options: SigningOptions): ClientInterceptor {
  const keys = resolveSigning(options);
  return {
    publish(out, next) {
      signMessage(out.message, keys);
      return next(out);
    },
  };
}
