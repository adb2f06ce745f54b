/**
 * The CPU-bound checks a request needs before it is stored — CSR parsing, a signature by a key the
 * request carries, a MAC key derived from a shared secret — as jobs a worker thread (or, as a
 * fallback, the event loop) runs with the same result. Jobs hold no CA key: only what the request
 * brought and, for a MAC, the protocol's shared secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlgorithmIdentifier } from '../pki/algorithm-identifier.ts';
import { pbmKey, type PBMParameter } from '../pki/cmp-pbm.ts';
import { pbmac1Key, type Pbmac1Parameter } from '../pki/cmp-pbmac1.ts';
import { parseCsr, type ParsedCsr } from '../pki/csr.ts';
import { importSpki, keyInfoFromKeyObject, spkiAlgorithmOid, type KeyInfo } from '../pki/keyinfo.ts';
import { verifySignature } from '../pki/signature.ts';

/** A shared-secret MAC scheme: RFC 4211 PasswordBasedMac or RFC 9481 PBMAC1. */
export type MacKeyScheme = { kind: 'pbm'; params: PBMParameter } | { kind: 'pbmac1'; params: Pbmac1Parameter };

/** The outcome of checking a signature by a key a request carries. */
export type SignatureCheck = { ok: true; keyInfo: KeyInfo } | { ok: false; reason: 'bad-key' | 'bad-signature' };

/** A signature by a key the request carries: what checkSignature reads. */
export interface SignatureInput {
  spki: Uint8Array;
  algorithm: AlgorithmIdentifier;
  data: Uint8Array;
  signature: Uint8Array;
}

/**
 * A shared-secret MAC checked, then (only if it holds) a signature the message carries: one trip to
 * a worker where a MAC key and a POP check would otherwise take two.
 */
export interface MacCheckInput {
  scheme: MacKeyScheme;
  secret: Uint8Array;
  /** The HMAC's hash (node:crypto name). */
  hmac: string;
  /** What the MAC covers, and the MAC the message carries. */
  data: Uint8Array;
  mac: Uint8Array;
  /** Checked only when the MAC holds: no signature work for a sender who is not authenticated. */
  then?: SignatureInput;
}

/** The derived key (for the caller's cache), whether the MAC holds and, if it does, the signature's check. */
export interface MacCheck {
  key: Buffer;
  ok: boolean;
  signature?: SignatureCheck;
}

export type CryptoJob =
  | { kind: 'csr'; der: Uint8Array }
  | ({ kind: 'signature' } & SignatureInput)
  | { kind: 'mac-key'; scheme: MacKeyScheme; secret: Uint8Array }
  | ({ kind: 'mac-check' } & MacCheckInput);

/** Structured clone turns Buffers into Uint8Arrays: views the same bytes as a Buffer again. */
function buf(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function checkSignature(spki: Uint8Array, algorithm: AlgorithmIdentifier, data: Uint8Array, signature: Uint8Array): SignatureCheck {
  let key;
  let algOid: string;
  try {
    algOid = spkiAlgorithmOid(spki);
    key = importSpki(spki);
  } catch {
    return { ok: false, reason: 'bad-key' };
  }
  if (!verifySignature(algorithm, key, data, signature)) return { ok: false, reason: 'bad-signature' };
  return { ok: true, keyInfo: keyInfoFromKeyObject(key, algOid) };
}

function macKey(scheme: MacKeyScheme, secret: Uint8Array): Buffer {
  if (scheme.kind === 'pbm') return pbmKey({ ...scheme.params, salt: buf(scheme.params.salt) }, secret);
  return pbmac1Key({ ...scheme.params, salt: buf(scheme.params.salt) }, secret);
}

function macCheck(j: MacCheckInput): MacCheck {
  const key = macKey(j.scheme, j.secret);
  const mac = createHmac(j.hmac, key).update(j.data).digest();
  const ok = mac.length === j.mac.length && timingSafeEqual(mac, j.mac);
  if (!ok || !j.then) return { key, ok };
  return { key, ok, signature: checkSignature(j.then.spki, j.then.algorithm, j.then.data, j.then.signature) };
}

/** Runs a job where it is called (worker thread or inline); throws what the underlying check throws. */
export function runCryptoJob(job: CryptoJob): unknown {
  switch (job.kind) {
    case 'csr':
      return parseCsr(job.der);
    case 'signature':
      return checkSignature(job.spki, job.algorithm, job.data, job.signature);
    case 'mac-key':
      return macKey(job.scheme, job.secret);
    case 'mac-check':
      return macCheck(job);
  }
}

/** A result as it arrives from a worker thread, with its Buffers restored. */
export function reviveResult(job: CryptoJob, r: unknown): unknown {
  if (job.kind === 'mac-key') return buf(r as Uint8Array);
  if (job.kind === 'mac-check') return { ...(r as MacCheck), key: buf((r as MacCheck).key) };
  if (job.kind !== 'csr') return r;
  const c = r as Omit<ParsedCsr, 'der'>;
  return {
    ...c,
    der: job.der,
    spki: buf(c.spki),
    subjectDer: buf(c.subjectDer),
    requestedExtensions: c.requestedExtensions.map((x) => ({ ...x, value: buf(x.value) })),
  };
}
