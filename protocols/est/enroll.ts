/**
 * The enrolment operations (RFC 7030 §4.2 simpleenroll / simplereenroll, §4.4 serverkeygen):
 * decode and check the PKCS#10, apply the label's channel binding and re-enrolment rules, hand
 * one EnrollmentRequest to the pipeline.
 *
 * Idempotency key: SHA-256 over (label, operation, the CSR's SubjectPublicKeyInfo, and for
 * re-enrolment the serial of the certificate being renewed); the pipeline scopes it by principal.
 * A device that got 202 repeats the same request and receives the certificate once approved;
 * the same principal sending the same key again gets the same certificate back (a new key, or
 * simplereenroll, gets a new one).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIssuanceError } from '../../src/issuance/errors.ts';
import type { EnrollmentRequest, IssuanceResult, KeySpec } from '../../src/issuance/request.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { parseCsr, type ParsedCsr } from '../../src/pki/csr.ts';
import { decodeName } from '../../src/pki/name.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { Authenticated } from './auth.ts';
import { EstError } from './errors.ts';
import type { Label } from './labels.ts';

export type Operation = 'simpleenroll' | 'simplereenroll' | 'serverkeygen' | 'fullcmc';

/** What an enrolment needs of a request, whether it came as PKCS#10 or CRMF (fullcmc). */
export type RequestedCertificate = Pick<ParsedCsr, 'subject' | 'spki' | 'key' | 'sans'>;

export interface ChannelBinding {
  type: 'tls-unique' | 'tls-exporter';
  value: Buffer;
}

/** Parses a PKCS#10 and checks its proof of possession; every failure is a 400 with a reason. */
export function checkedCsr(der: Buffer): ParsedCsr {
  let csr: ParsedCsr;
  try {
    csr = parseCsr(der);
  } catch (e) {
    throw new EstError(400, isIssuanceError(e) ? e.message : 'the body is not a PKCS#10 certification request');
  }
  if (!csr.signatureValid) throw new EstError(400, 'the CSR signature does not verify (no proof of possession)');
  return csr;
}

/**
 * RFC 7030 §3.5: the challengePassword carries base64 of the channel binding value — tls-unique on
 * TLS 1.2; on TLS 1.3, which has no tls-unique, the RFC 9266 tls-exporter value (32 bytes).
 */
export function checkChannelBinding(csr: ParsedCsr, cb: ChannelBinding | undefined): void {
  if (!cb) throw new EstError(403, 'this label requires channel binding, which needs TLS');
  const got = csr.challengePassword;
  if (got === undefined) throw new EstError(403, `this label requires the ${cb.type} channel binding in the CSR's challengePassword`);
  const want = cb.value.toString('base64');
  const a = createHash('sha256').update(got).digest();
  const b = createHash('sha256').update(want).digest();
  if (!timingSafeEqual(a, b)) throw new EstError(403, `the CSR's challengePassword does not match this TLS session's ${cb.type} value`);
}

/** simplereenroll: the client certificate is the one renewed; subject and SANs must be its own. */
function replacement(csr: RequestedCertificate, auth: Authenticated): EnrollmentRequest['replaces'] {
  const cert = auth.clientCert;
  if (!cert) throw new EstError(403, 're-enrolment needs the TLS client certificate being renewed');
  if (!cert.record) throw new EstError(403, 're-enrolment renews only certificates this CA issued');
  const old = parseCertificate(cert.der);
  // Compared as attribute types and values: the CSR may encode a string differently (Printable
  // vs UTF8String) from the certificate the profile built.
  const dn = (attrs: { type: string; value: string }[]) => JSON.stringify(attrs.map((a) => [a.type, a.value]));
  if (dn(decodeName(old.subject)) !== dn(csr.subject)) throw new EstError(403, 'the CSR subject differs from the certificate being renewed');
  const names = (l: { type: string; value: string }[]) => l.map((n) => `${n.type}:${n.value.toLowerCase()}`).sort().join('\n');
  if (names(old.sans) !== names(csr.sans)) throw new EstError(403, 'the CSR names other identities (subjectAltName) than the certificate being renewed');
  const sameKey = Buffer.from(old.spki).equals(csr.spki);
  return { issuerId: cert.record.issuerId, serial: cert.record.serial, mode: sameKey ? 'renew' : 'rekey' };
}

function keySpecOf(csr: RequestedCertificate): KeySpec {
  const k = csr.key;
  if (k.type === 'RSA') return { type: 'RSA', bits: k.bits };
  if (k.type === 'EC' && (k.curve === 'P-256' || k.curve === 'P-384' || k.curve === 'P-521')) return { type: 'EC', curve: k.curve };
  if (k.type === 'Ed25519') return { type: 'Ed25519' };
  throw new EstError(400, 'server key generation supports RSA, EC P-256/P-384/P-521 and Ed25519 keys');
}

export async function enroll(
  ctx: ProtocolContext,
  op: Operation,
  label: Label,
  auth: Authenticated,
  csr: RequestedCertificate,
  extraMetadata: Record<string, unknown> = {},
): Promise<IssuanceResult> {
  const replaces = op === 'simplereenroll' ? replacement(csr, auth) : undefined;
  const idem = createHash('sha256')
    .update(`${label.name}\0${op}\0${replaces?.serial ?? ''}\0`)
    .update(csr.spki)
    .digest('base64url');
  const req: EnrollmentRequest = {
    principal: auth.principal,
    profile: label.profile,
    issuerId: label.issuerId,
    key: op === 'serverkeygen' ? { kind: 'generate', spec: keySpecOf(csr) } : { kind: 'spki', der: csr.spki, pop: 'verified-by-protocol', keyInfo: csr.key },
    subject: csr.subject,
    sans: csr.sans,
    idempotencyKey: `${op}:${idem}`,
    replaces,
    metadata: { estLabel: label.name, estOperation: op, ...extraMetadata },
  };
  return ctx.pipeline.issue(req);
}
