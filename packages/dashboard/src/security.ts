import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigError } from '@celeriac/core';

/** The cookie a `?token=` visit sets, so the page and its live stream need no token in URLs. */
export const TOKEN_COOKIE = 'celeriac_dashboard';
/** The header every action (POST) must carry with the page's CSRF token. */
export const CSRF_HEADER = 'x-celeriac-csrf';

/** Whether a bind address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/**
 * Checks the bind address against the token: anything other than loopback needs one, since the
 * dashboard can revoke tasks and redrive dead letters.
 */
export function assertSafeBind(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < 16)
    throw new ConfigError('the dashboard token must be at least 16 characters');
  if (!isLoopback(host) && !token)
    throw new ConfigError(
      `the dashboard binds to ${host}, which other machines can reach: pass --token (at least 16 characters) or bind 127.0.0.1`,
    );
}

/** Constant-time comparison of two secrets. */
export function sameSecret(given: string | undefined | null, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A fresh random secret, URL-safe. */
export function newSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/**
 * Host header values a loopback-bound dashboard answers to. Anything else is a page on another
 * site whose name was pointed at 127.0.0.1 (DNS rebinding) and is refused.
 */
export function loopbackHosts(port: number): Set<string> {
  return new Set(['localhost', '127.0.0.1', '[::1]'].map((h) => `${h}:${port}`));
}
