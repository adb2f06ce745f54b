/**
 * revokeCert by an account that did not request the certificate (RFC 8555 §7.6): allowed when it
 * holds a valid, unexpired authorization for every identifier the certificate names. A wildcard
 * name needs a wildcard authorization of its base domain; a plain name, any valid authorization of
 * it (a wildcard one was proved through the base domain's DNS).
 */
import { and, eq, gt, inArray } from 'drizzle-orm';
import type { Db } from '../../src/db/client.ts';
import type { Identifier } from '../../src/issuance/request.ts';
import { normalise } from './finalize.ts';
import { acmeAuthorizations } from './schema.ts';

/** Reasons an authorization holder may give (it speaks for the names, not for the subscriber's key). */
export const HOLDER_REASONS = new Set([0, 5]);

export async function holdsAuthorizationsFor(db: Db, accountId: string, names: Identifier[]): Promise<boolean> {
  if (!names.length || names.some((n) => n.type !== 'dns' && n.type !== 'ip')) return false;
  const wanted = names.map((n) => {
    const wildcard = n.type === 'dns' && n.value.startsWith('*.');
    return { wildcard, key: normalise({ type: n.type, value: wildcard ? n.value.slice(2) : n.value }) };
  });
  const rows = await db
    .select({ type: acmeAuthorizations.identifierType, value: acmeAuthorizations.identifierValue, wildcard: acmeAuthorizations.wildcard })
    .from(acmeAuthorizations)
    .where(
      and(
        eq(acmeAuthorizations.accountId, accountId),
        eq(acmeAuthorizations.status, 'valid'),
        gt(acmeAuthorizations.expires, new Date()),
        inArray(acmeAuthorizations.identifierValue, [...new Set(wanted.map((w) => w.key.slice(w.key.indexOf(':') + 1)))]),
      ),
    )
    .limit(1000);
  const held = rows.map((r) => ({ wildcard: r.wildcard, key: normalise({ type: r.type as Identifier['type'], value: r.value }) }));
  return wanted.every((w) => held.some((h) => h.key === w.key && (h.wildcard || !w.wildcard)));
}
