// Bearer-token checks for agents (on the WebSocket upgrade) and for REST calls that
// change state. Both sides are hashed before timingSafeEqual: the digests have equal
// length whatever was sent, so neither the comparison nor an early length check tells
// a caller how much of a guess was right. The token itself is never logged.
import { createHash, timingSafeEqual } from 'node:crypto';

export type AuthResult = 'ok' | 'missing' | 'wrong';
export type TokenCheck = (authorization: string | undefined) => AuthResult;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Without a token every caller is let in (the collector then listens on loopback only). */
export function createTokenCheck(token: string | undefined): TokenCheck {
  if (token === undefined) return () => 'ok';
  const expected = digest(token);
  return (authorization) => {
    const m = /^Bearer +(\S.*)$/i.exec(authorization ?? '');
    if (!m) return 'missing';
    return timingSafeEqual(digest(m[1]!.trim()), expected) ? 'ok' : 'wrong';
  };
}

export function authMessage(result: Exclude<AuthResult, 'ok'>): string {
  return result === 'missing' ? 'this collector requires Authorization: Bearer <token>' : 'the bearer token is wrong';
}
