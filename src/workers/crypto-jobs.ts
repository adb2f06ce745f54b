/**
 * The CPU-bound checks a request needs before it is stored — CSR parsing, a signature by a key the
 * request carries, a MAC key derived from a shared secret — as jobs a worker thread (or, as a
 * fallback, the event loop) runs with the same result. Jobs hold no CA key: only what the request
 * brought and, for a MAC, the protocol's shared secret.
 */
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

export type CryptoJob =
  | { kind: 'csr'; der: Uint8Array }
  | { kind: 'signature'; spki: Uint8Array; algorithm: AlgorithmIdentifier; data: Uint8Array; signature: Uint8Array }
  | { kind: 'mac-key'; scheme: MacKeyScheme; secret: Uint8Array };

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

/** Runs a job where it is called (worker thread or inline); throws what the underlying check throws. */
export function runCryptoJob(job: CryptoJob): unknown {
  switch (job.kind) {
    case 'csr':
      return parseCsr(job.der);
    case 'signature':
      return checkSignature(job.spki, job.algorithm, job.data, job.signature);
    case 'mac-key':
      return macKey(job.scheme, job.secret);
  }
}

/** A result as it arrives from a worker thread, with its Buffers restored. */
export function reviveResult(job: CryptoJob, r: unknown): unknown {
  if (job.kind === 'mac-key') return buf(r as Uint8Array);
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
