/**
 * Typed refusals: every reason code reaches every protocol's native error through its table
 * (ACME problem, emCA message, OCSP status, admin JSON status), and the suggested SCEP / CMP / EST
 * tables are complete. The expected values are written out here, independently of the tables.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { fromIssuanceError } from '../../protocols/acme/problems.ts';
import { M } from '../../protocols/emca/messages.ts';
import { emcaFailureFor } from '../../protocols/emca/failures.ts';
import { ocspStatusFor } from '../../protocols/ocsp/service.ts';
import { jsonError } from '../../src/http/errors.ts';
import {
  BadCsr,
  BadRequest,
  Conflict,
  Forbidden,
  IssuanceError,
  NotFound,
  ProfileViolation,
  Unauthorized,
  Unavailable,
  cmpFailBit,
  cmpFailInfoFor,
  estStatusFor,
  reasonCodes,
  scepFailInfoFor,
  type ReasonCode,
} from '../../src/issuance/errors.ts';

type Row = {
  code: ReasonCode;
  rule?: string;
  acme: [type: string, status: number];
  emca: string;
  ocsp: 'malformedRequest' | 'internalError' | 'tryLater';
  admin: [status: number, error: string];
};

const rows: Row[] = [
  { code: 'badCsr', acme: ['badCSR', 400], emca: M.invalidCsr, ocsp: 'malformedRequest', admin: [400, 'BadCsr'] },
  { code: 'badPop', acme: ['badCSR', 400], emca: M.invalidCsr, ocsp: 'malformedRequest', admin: [400, 'BadCsr'] },
  { code: 'policy', rule: 'san.dns.wildcard', acme: ['rejectedIdentifier', 400], emca: M.invalidSubject, ocsp: 'internalError', admin: [403, 'ProfileViolation'] },
  { code: 'policy', rule: 'keys.rsa', acme: ['badPublicKey', 400], emca: M.invalidCsr, ocsp: 'internalError', admin: [403, 'ProfileViolation'] },
  { code: 'policy', rule: 'lint.keyUsage.keyType', acme: ['badCSR', 400], emca: M.invalidCsr, ocsp: 'internalError', admin: [403, 'ProfileViolation'] },
  { code: 'policy', rule: 'issuer', acme: ['rejectedIdentifier', 400], emca: M.invalidCaName, ocsp: 'internalError', admin: [403, 'ProfileViolation'] },
  { code: 'unknownProfile', acme: ['invalidProfile', 400], emca: M.invalidProfile, ocsp: 'internalError', admin: [404, 'NotFound'] },
  { code: 'forbiddenProfile', rule: 'profile.audience', acme: ['invalidProfile', 400], emca: M.invalidProfile, ocsp: 'internalError', admin: [403, 'Forbidden'] },
  { code: 'notAuthorizedForIdentifier', rule: 'authorization', acme: ['unauthorized', 403], emca: M.invalidParameter, ocsp: 'internalError', admin: [403, 'ProfileViolation'] },
  { code: 'validity', rule: 'validity.duration', acme: ['malformed', 400], emca: M.invalidValidity, ocsp: 'internalError', admin: [400, 'BadRequest'] },
  { code: 'validity', rule: 'validity.dateTime', acme: ['malformed', 400], emca: M.invalidValidFrom, ocsp: 'internalError', admin: [400, 'BadRequest'] },
  { code: 'duplicateKey', rule: 'duplicateKey', acme: ['badCSR', 400], emca: M.invalidParameter, ocsp: 'internalError', admin: [409, 'Conflict'] },
  { code: 'duplicateKey', rule: 'rekey.newKey', acme: ['badCSR', 400], emca: M.invalidCsr, ocsp: 'internalError', admin: [409, 'Conflict'] },
  { code: 'issuerUnavailable', acme: ['serverInternal', 503], emca: M.internal, ocsp: 'tryLater', admin: [503, 'Unavailable'] },
  { code: 'pending', acme: ['serverInternal', 503], emca: M.pending, ocsp: 'tryLater', admin: [409, 'Pending'] },
  { code: 'rateLimited', acme: ['rateLimited', 429], emca: M.internal, ocsp: 'tryLater', admin: [429, 'RateLimited'] },
  { code: 'internal', acme: ['serverInternal', 500], emca: M.internal, ocsp: 'internalError', admin: [500, 'InternalError'] },
  { code: 'malformed', rule: 'subject.syntax', acme: ['malformed', 400], emca: M.invalidSubject, ocsp: 'malformedRequest', admin: [400, 'BadRequest'] },
  { code: 'notFound', acme: ['malformed', 404], emca: M.notFound, ocsp: 'internalError', admin: [404, 'NotFound'] },
  { code: 'notFound', rule: 'issuer', acme: ['malformed', 404], emca: M.invalidCaName, ocsp: 'internalError', admin: [404, 'NotFound'] },
  { code: 'conflict', acme: ['malformed', 409], emca: M.invalidParameter, ocsp: 'internalError', admin: [409, 'Conflict'] },
  { code: 'conflict', rule: 'replaces.revoked', acme: ['malformed', 409], emca: M.alreadyRevoked, ocsp: 'internalError', admin: [409, 'Conflict'] },
  { code: 'unauthorized', acme: ['unauthorized', 403], emca: M.invalidRequestDetails, ocsp: 'internalError', admin: [401, 'Unauthorized'] },
  { code: 'forbidden', acme: ['unauthorized', 403], emca: M.invalidParameter, ocsp: 'internalError', admin: [403, 'Forbidden'] },
];

const label = (r: Row) => `${r.code}${r.rule ? ` (${r.rule})` : ''}`;
const spec = { profileBy: 'name' as const, key: { kind: 'csr' as const, der: new Uint8Array() } };

describe('every reason code has a row here', () => {
  it('covers the closed set', () => expect(new Set(rows.map((r) => r.code))).toEqual(new Set(reasonCodes)));
});

describe.each(rows.map((r) => [label(r), r] as const))('%s', (_l, r) => {
  const e = new IssuanceError(r.code, `refused: ${r.code}`, r.rule);

  it('→ ACME problem', () => {
    const p = fromIssuanceError(e).toJSON();
    expect([p.type, p.status]).toEqual([`urn:ietf:params:acme:error:${r.acme[0]}`, r.acme[1]]);
    expect(p.detail).toBe(e.message);
  });

  it('→ emCA message', () => {
    expect(emcaFailureFor[r.code](r.rule ?? '', spec).result).toBe(r.emca);
  });

  it('→ OCSP status', () => {
    expect(ocspStatusFor[r.code]).toBe(r.ocsp);
  });

  it('→ admin JSON (through a Hono route)', async () => {
    const app = new Hono();
    app.get('/x', (c) => jsonError(c as never, e));
    const res = await app.request('/x');
    expect(res.status).toBe(r.admin[0]);
    expect(await res.json()).toEqual({ error: r.admin[1], reason: r.code, message: e.message, ...(r.rule ? { rule: r.rule } : {}) });
  });
});

describe('emCA: which request field named the profile decides the message', () => {
  it('profileId → "<id> profile does not exist" (the documents\' text)', () => {
    expect(emcaFailureFor.unknownProfile('', { ...spec, profileBy: 'id', profileRef: '42' }).result).toBe('42 profile does not exist');
    expect(emcaFailureFor.forbiddenProfile('profile.audience', { ...spec, profileBy: 'id', profileRef: '7' }).result).toBe('7 profile does not exist');
  });
  it('a server-generated key refused → Please enter valid data', () => {
    expect(emcaFailureFor.policy('keys.rsa', { profileBy: 'name', key: { kind: 'generate', spec: { type: 'RSA', bits: 1024 } } } as never).result).toBe(M.invalidKey);
  });
});

describe('the legacy classes are thin: each is one code', () => {
  it.each([
    [new BadRequest('m'), 'malformed'],
    [new BadCsr('m'), 'badCsr'],
    [new ProfileViolation('r', 'm'), 'policy'],
    [new Unauthorized('m'), 'unauthorized'],
    [new Forbidden('m'), 'forbidden'],
    [new NotFound('m'), 'notFound'],
    [new Conflict('m'), 'conflict'],
    [new Unavailable('m'), 'issuerUnavailable'],
  ] as const)('%o', (e, code) => expect(e.code).toBe(code));
});

describe('suggested tables for SCEP, CMP and EST are complete and native', () => {
  const scep = new Set(['badAlg', 'badMessageCheck', 'badRequest', 'badTime', 'badCertId', 'PENDING']);
  it.each(reasonCodes.map((c) => [c]))('%s', (code) => {
    expect(scep.has(scepFailInfoFor[code])).toBe(true);
    const cmp = cmpFailInfoFor[code];
    expect(cmp === 'waiting' || cmpFailBit[cmp] !== undefined).toBe(true);
    expect([202, 400, 401, 403, 404, 409, 429, 500, 503]).toContain(estStatusFor[code]);
  });
  it('pending is PENDING / waiting / 202 and POP failures are badMessageCheck / badPOP', () => {
    expect([scepFailInfoFor.pending, cmpFailInfoFor.pending, estStatusFor.pending]).toEqual(['PENDING', 'waiting', 202]);
    expect([scepFailInfoFor.badPop, cmpFailInfoFor.badPop]).toEqual(['badMessageCheck', 'badPOP']);
    expect(cmpFailBit.badPOP).toBe(9);
    expect(cmpFailBit.systemUnavail).toBe(24);
  });
});

// A plain Error is a refusal without a code; RangeError/TypeError stay for a caller breaking an
// argument contract (a programming error, e.g. the decrypter's expectedLength).
describe('src/issuance, src/profiles, src/ca and src/lint throw only typed refusals', () => {
  const root = join(import.meta.dirname, '../../src');
  for (const dir of ['issuance', 'profiles', 'ca', 'lint']) {
    for (const f of readdirSync(join(root, dir)).filter((n) => n.endsWith('.ts'))) {
      it(`${dir}/${f}`, () => {
        const text = readFileSync(join(root, dir, f), 'utf8');
        expect(text).not.toMatch(/throw new Error\(/);
      });
    }
  }
});
