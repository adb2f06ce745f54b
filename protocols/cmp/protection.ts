/**
 * Message protection (RFC 9810 §5.1.3, RFC 9481 §6): checks a request's MAC (PasswordBasedMac,
 * PBMAC1) or signature, and protects an answer the way its request was protected.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { Signer } from '../../src/ca/signer.ts';
import type { CertificateRecord, ProtocolContext } from '../../src/protocol-context.ts';
import { decodeAlgorithmIdentifier } from '../../src/pki/algorithm-identifier.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import type { PKIBody } from '../../src/pki/cmp-body.ts';
import type { PKIHeader } from '../../src/pki/cmp-header.ts';
import { encodePKIMessage, protectedPartOf, type DecodedPKIMessage } from '../../src/pki/cmp-message.ts';
import { PASSWORD_BASED_MAC, encodePbmParameter, hmacByOid, owfByOid, pbmParameterFromDer, type PBMParameter } from '../../src/pki/cmp-pbm.ts';
import { PBMAC1, encodePbmac1Parameter, pbmac1ParameterFromDer, type Pbmac1Parameter } from '../../src/pki/cmp-pbmac1.ts';
import { MacKeyCache } from './mac-keys.ts';
import { crmfToCheck, type CrmfPrefetch } from './pop.ts';
import { readTlv } from '../../src/pki/der.ts';
import { isSupportedSignatureAlgorithm, verifySignature } from '../../src/pki/signature.ts';
import { CmpFailure } from './failures.ts';
import type { SecretStore } from './secrets.ts';
import type { CmpSettings } from './settings.ts';

export type MacScheme = { kind: 'pbm'; params: PBMParameter } | { kind: 'pbmac1'; params: Pbmac1Parameter };

/** Who sent a request, as its protection proved. */
export type Sender =
  | { kind: 'mac'; ref: string; alias: string | null; secret: Buffer; scheme: MacScheme; crmf?: CrmfPrefetch }
  | { kind: 'signature'; record: CertificateRecord; certDer: Buffer };

/** How an answer is protected (kept with a transaction for its later answers). */
export type ResponseProtection = { kind: 'mac'; ref: string } | { kind: 'signature'; issuerId: string };

export function senderId(s: Sender): string {
  return s.kind === 'mac' ? `ref:${s.ref}` : `cert:${s.record.issuerId}:${s.record.serial}`;
}

export function responseProtection(s: Sender): ResponseProtection {
  return s.kind === 'mac' ? { kind: 'mac', ref: s.ref } : { kind: 'signature', issuerId: s.record.issuerId };
}

function macScheme(msg: DecodedPKIMessage, settings: CmpSettings): MacScheme {
  const alg = msg.header.protectionAlg!;
  let scheme: MacScheme;
  let iterations: number;
  try {
    if (!alg.params) throw new Error('no parameters');
    if (alg.oid === PASSWORD_BASED_MAC) {
      const params = pbmParameterFromDer(alg.params);
      if (!owfByOid[params.owf.oid] || !hmacByOid[params.mac.oid]) throw new Error('unsupported OWF or MAC');
      if (params.salt.length < 8 || params.salt.length > 64) throw new Error('salt length');
      scheme = { kind: 'pbm', params };
      iterations = params.iterationCount;
    } else {
      const params = pbmac1ParameterFromDer(alg.params);
      if (!hmacByOid[params.prf.oid] || !hmacByOid[params.mac.oid]) throw new Error('unsupported PRF or MAC');
      if (params.salt.length < 8 || params.salt.length > 64) throw new Error('salt length');
      scheme = { kind: 'pbmac1', params };
      iterations = params.iterationCount;
    }
  } catch {
    throw new CmpFailure('badAlg', 'unsupported or malformed MAC parameters', false);
  }
  if (iterations < settings.minIterations || iterations > settings.maxIterations) {
    throw new CmpFailure('badAlg', `MAC iteration count must be ${settings.minIterations} to ${settings.maxIterations}`, false);
  }
  return scheme;
}

/** Derived MAC keys by (secret, scheme, salt, count): see mac-keys.ts. One cache per server. */
const macKeys = new WeakMap<ProtocolContext, MacKeyCache>();

export function macKeyCache(ctx: ProtocolContext): MacKeyCache {
  let c = macKeys.get(ctx);
  if (!c) macKeys.set(ctx, (c = new MacKeyCache((scheme, secret) => ctx.crypto.macKey(scheme, secret))));
  return c;
}

async function verifyMac(msg: DecodedPKIMessage, ctx: ProtocolContext, settings: CmpSettings, secrets: SecretStore): Promise<Sender> {
  const scheme = macScheme(msg, settings);
  const ref = msg.header.senderKID?.toString('latin1');
  if (!ref) throw new CmpFailure('badMessageCheck', 'MAC protection needs senderKID (the reference)', false);
  const s = await secrets.usable(ref);
  // The same answer for an unknown reference and a wrong MAC: no reference oracle.
  const refused = () => new CmpFailure('badMessageCheck', 'MAC verification failed (unknown reference or wrong secret)', false);
  if (!s) throw refused();
  const hmac = hmacByOid[scheme.params.mac.oid];
  const cache = macKeyCache(ctx);
  const known = cache.peek(scheme, s.secret);
  if (known) {
    const expected = createHmac(hmac, known).update(msg.protectedPart).digest();
    if (expected.length !== msg.protection!.length || !timingSafeEqual(expected, msg.protection!)) throw refused();
    return { kind: 'mac', ref, alias: s.alias, secret: s.secret, scheme };
  }
  // Key not cached (a fresh salt, as OpenSSL sends): derive, check the MAC and then the POP in one
  // worker trip; the POP is looked at only if the MAC holds.
  const crmf = crmfToCheck(msg);
  const r = await ctx.crypto.macCheck({ scheme, secret: s.secret, hmac, data: msg.protectedPart, mac: msg.protection!, then: crmf?.pop });
  cache.put(scheme, s.secret, r.key);
  if (!r.ok) throw refused();
  return { kind: 'mac', ref, alias: s.alias, secret: s.secret, scheme, crmf: crmf && { reqs: crmf.reqs, pop: r.signature } };
}

async function verifySigned(msg: DecodedPKIMessage, ctx: ProtocolContext): Promise<Sender> {
  const alg = msg.header.protectionAlg!;
  if (!isSupportedSignatureAlgorithm(alg.oid)) throw new CmpFailure('badAlg', `unsupported protection algorithm ${alg.oid}`, false);
  const certDer = msg.extraCerts?.[0];
  if (!certDer) throw new CmpFailure('signerNotTrusted', 'signature protection needs the signer certificate first in extraCerts', false);
  const record = await ctx.certificates.byDer(certDer);
  if (!record) throw new CmpFailure('signerNotTrusted', 'the signer certificate was not issued by this CA', false);
  if (record.status !== 'valid') throw new CmpFailure('certRevoked', 'the signer certificate is revoked', false);
  const now = Date.now();
  if (record.notAfter.getTime() < now || record.notBefore.getTime() > now) throw new CmpFailure('signerNotTrusted', 'the signer certificate is not valid now', false);
  const key = new X509Certificate(certDer).publicKey;
  if (!verifySignature(alg, key, msg.protectedPart, msg.protection!)) throw new CmpFailure('badMessageCheck', 'signature verification failed', false);
  return { kind: 'signature', record, certDer: Buffer.from(certDer) };
}

/** Authenticates a request by its protection; throws CmpFailure (senderTrusted false) when it cannot. */
export async function verifyProtection(msg: DecodedPKIMessage, ctx: ProtocolContext, settings: CmpSettings, secrets: SecretStore): Promise<Sender> {
  const alg = msg.header.protectionAlg;
  if (!alg || !msg.protection) throw new CmpFailure('badMessageCheck', 'unprotected requests are refused', false);
  if (alg.oid === PASSWORD_BASED_MAC || alg.oid === PBMAC1) return verifyMac(msg, ctx, settings, secrets);
  return verifySigned(msg, ctx);
}

/** What signs answers for an issuer: its CMP signer identity (RFC 9483 §3.1), or the CA itself. */
interface AnswerSigner {
  signer: { algorithmIdentifier: Buffer; sign(data: Uint8Array): Buffer | Promise<Buffer> };
  /** The same key as a key-store Signer (CMS SignedData: centrally generated keys). */
  keySigner: Signer;
  certDer: Buffer;
  /** certDer first, then its chain. */
  certs: Buffer[];
}

const signerCache = new WeakMap<ProtocolContext, Map<string, { value: AnswerSigner; until: number }>>();

/**
 * The `cmp-signer` service identity under `issuerId` (system profile: digitalSignature, id-kp-cmcRA),
 * created on first use and renewed by the key store; the issuing CA's own key if that fails.
 */
export async function answerSigner(ctx: ProtocolContext, issuerId: string): Promise<AnswerSigner> {
  let signers = signerCache.get(ctx);
  if (!signers) signerCache.set(ctx, (signers = new Map()));
  const hit = signers.get(issuerId);
  if (hit && hit.until > Date.now()) return hit.value;
  let value: AnswerSigner;
  try {
    const id = await ctx.keys.serviceIdentity({ name: `signer-${issuerId}`, systemProfile: 'cmp-signer', subject: 'CN=Certgate CMP signer', key: { type: 'EC', curve: 'P-256' }, issuerId });
    value = { signer: id.key.signer, keySigner: id.key.signer, certDer: Buffer.from(id.certDer), certs: [id.certDer, ...id.chain].map((c) => Buffer.from(c)) };
  } catch (e) {
    ctx.log.warn({ err: e, issuerId }, 'cmp: no CMP signer identity; answers are signed by the CA');
    const issuer = await ctx.issuers.get(issuerId);
    if (!issuer) throw new Error(`issuer ${issuerId} is gone`);
    const key = await ctx.keys.forIssuer(issuerId);
    const chain = issuer.chain.length ? issuer.chain : [issuer.certDer];
    value = { signer: key.signer, keySigner: key.signer, certDer: Buffer.from(issuer.certDer), certs: chain.map((c) => Buffer.from(c)) };
  }
  // Re-asked every minute: the key store renews the identity before it expires.
  signers.set(issuerId, { value, until: Date.now() + 60_000 });
  return value;
}

/** Signs an answer; extraCerts carry the signer's chain, then `extraCerts` not already in it. */
async function sign(ctx: ProtocolContext, issuerId: string, header: PKIHeader, body: PKIBody, extraCerts: Buffer[]): Promise<Buffer> {
  const s = await answerSigner(ctx, issuerId);
  const algDer = s.signer.algorithmIdentifier;
  const parsed = parseCertificate(s.certDer);
  const h: PKIHeader = {
    ...header,
    sender: Buffer.concat([Buffer.from([0xa4]), derLength(parsed.subject.length), parsed.subject]),
    protectionAlg: decodeAlgorithmIdentifier(algDer, readTlv(algDer)),
    senderKID: parsed.ski,
  };
  const protection = await s.signer.sign(protectedPartOf(h, body));
  const certs = [...s.certs, ...extraCerts.filter((c) => !s.certs.some((x) => x.equals(c)))];
  return encodePKIMessage({ header: h, body, protection, extraCerts: certs });
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/**
 * Answer MACs use a salt of our own per reference and algorithm, so the derived key (500-10,000
 * hash iterations) is computed once, not per answer. The verifier accepts any salt, so a per-message
 * salt would add nothing against forgery; the iterations still guard the secret against guessing.
 */
const answerKeys = new WeakMap<ProtocolContext, Map<string, { salt: Buffer; key: Buffer }>>();

async function answerMac(ctx: ProtocolContext, s: Extract<Sender, { kind: 'mac' }>, data: (h: PKIHeader) => Buffer, header: PKIHeader): Promise<{ header: PKIHeader; mac: Buffer }> {
  let cache = answerKeys.get(ctx);
  if (!cache) answerKeys.set(ctx, (cache = new Map()));
  const p = s.scheme.params;
  const id = `${s.ref}|${s.scheme.kind}|${p.iterationCount}|${s.scheme.kind === 'pbm' ? s.scheme.params.owf.oid : s.scheme.params.prf.oid}|${createHash('sha256').update(s.secret).digest('hex')}`;
  let entry = cache.get(id);
  const scheme: MacScheme = s.scheme.kind === 'pbm' ? { kind: 'pbm', params: { ...s.scheme.params, salt: entry?.salt ?? randomBytes(16) } } : { kind: 'pbmac1', params: { ...s.scheme.params, salt: entry?.salt ?? randomBytes(16) } };
  if (!entry) {
    entry = { salt: scheme.params.salt, key: await macKeyCache(ctx).key(scheme, s.secret) };
    if (cache.size > 10_000) cache.clear();
    cache.set(id, entry);
  }
  const params = scheme.kind === 'pbm' ? encodePbmParameter(scheme.params) : encodePbmac1Parameter(scheme.params);
  const h: PKIHeader = { ...header, protectionAlg: { oid: scheme.kind === 'pbm' ? PASSWORD_BASED_MAC : PBMAC1, params } };
  const macHash = hmacByOid[scheme.params.mac.oid];
  return { header: h, mac: createHmac(macHash, entry.key).update(data(h)).digest() };
}

/**
 * Protects an answer: with the sender's MAC (a fresh salt, the request's algorithms) when the
 * sender was authenticated by one, else signed by `issuerId`'s key. `extraCerts` are added after
 * the signer's chain (e.g. the chain of an issued certificate).
 */
export async function protect(
  ctx: ProtocolContext,
  how: { sender?: Sender; issuerId: string },
  header: PKIHeader,
  body: PKIBody,
  extraCerts: Buffer[] = [],
): Promise<Buffer> {
  const s = how.sender;
  if (s?.kind === 'mac') {
    const { header: h, mac } = await answerMac(ctx, s, (x) => protectedPartOf(x, body), header);
    return encodePKIMessage({ header: h, body, protection: mac, extraCerts: extraCerts.length ? extraCerts : undefined });
  }
  return sign(ctx, how.issuerId, header, body, extraCerts);
}
