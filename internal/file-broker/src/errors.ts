import { BrokerError, CeleriacError } from '@celeriac/core/adapter';

/** The adapter name in errors and logs. */
export const ADAPTER = 'file';

/** Errors that another attempt will not fix. */
const PERMANENT = new Set(['EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'EISDIR', 'ENOTDIR']);

/** The `code` of a Node.js file system error, if it is one. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The file (or a directory on its path) does not exist. */
export function isMissing(error: unknown): boolean {
  return errnoOf(error) === 'ENOENT';
}

/** A Celeriac error for a failed file operation; Celeriac errors pass through unchanged. */
export function toCeleriacError(error: unknown, what: string): CeleriacError {
  if (CeleriacError.is(error)) return error;
  const code = errnoOf(error);
  const retriable = code === undefined || !PERMANENT.has(code);
  return new BrokerError(ADAPTER, code === undefined ? what : `${what} (${code})`, retriable, {
    cause: error,
  });
}
