/** Shared helpers for tests that drive the issuance pipeline on a real Context. */
import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Context } from '../../src/context.ts';
import type { Db } from '../../src/db/client.ts';
import { auditEvents, certificates, pendingRequests } from '../../src/db/schema.ts';
import { IssuanceError, type IssuanceErrorCode } from '../../src/issuance/errors.ts';
import type { EnrollmentRequest, IssuanceResult, Principal } from '../../src/issuance/request.ts';

export const operator: Principal = { id: 'operator:test', protocol: 'admin', authenticatedBy: 'local' };

export type Issued = Extract<IssuanceResult, { status: 'issued' }>;

export function expectIssued(r: IssuanceResult): Issued {
  if (r.status !== 'issued') throw new Error(`expected an issued result, got ${JSON.stringify(r)}`);
  return r;
}

/** Issues from a CSR under `profile` as `operator` (or `principal`), expecting `issued`. */
export async function issueCsr(
  ctx: Context,
  profile: string,
  der: Uint8Array,
  extra: Partial<EnrollmentRequest> = {},
): Promise<Issued> {
  return expectIssued(await ctx.pipeline.issue({ principal: operator, profile, key: { kind: 'csr', der }, ...extra }));
}

/** A fresh P-256 SubjectPublicKeyInfo (node:crypto), for requests whose proof of possession is not the point. */
export function freshSpki(): Buffer {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
}

export interface RowCounts {
  certificates: number;
  pendingRequests: number;
  auditEvents: number;
}

export async function rowCounts(db: Db): Promise<RowCounts> {
  const n = async (t: typeof certificates | typeof pendingRequests | typeof auditEvents) =>
    (await db.select({ n: sql<number>`count(*)::int` }).from(t))[0].n;
  return { certificates: await n(certificates), pendingRequests: await n(pendingRequests), auditEvents: await n(auditEvents) };
}

/** Awaits `p`, expecting an IssuanceError with `code` whose message matches `message`. */
export async function expectIssuanceError(p: Promise<unknown>, code: IssuanceErrorCode, message: RegExp): Promise<IssuanceError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected the call to throw').toBeInstanceOf(IssuanceError);
  const e = caught as IssuanceError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  return e;
}
