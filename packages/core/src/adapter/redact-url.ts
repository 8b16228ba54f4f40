/** `scheme://user:password@` or `scheme://secret@` at the start of a URL. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^:@/?#]*)(:[^@]*)?@/i;
/** Query parameters that carry secrets, e.g. `sentinelPassword=…`. */
const SECRET_PARAM = /([?&][^=&#]*(?:pass|secret|token)[^=&#]*=)[^&#]*/gi;

/**
 * The URL with its secrets replaced by `***`, for errors and logs: the password of
 * `user:password@`, a lone `secret@` (Redis reads it as a password), and query parameters whose
 * name says they hold one (`sentinelPassword`, `…token`, `…secret`).
 *
 * @example
 * ```ts
 * redactUrl('redis://app:hunter2@cache:6379/0'); // 'redis://app:***@cache:6379/0'
 * ```
 */
export function redactUrl(url: string): string {
  return url
    .replace(USERINFO, (_, scheme: string, user: string, password: string | undefined) =>
      password === undefined ? (user ? `${scheme}***@` : `${scheme}@`) : `${scheme}${user}:***@`,
    )
    .replace(SECRET_PARAM, '$1***');
}
