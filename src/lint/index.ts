/**
 * Lint before sign (Boulder's practice): every TBSCertificate the pipeline is about to sign is
 * decoded from its own DER and checked against RFC 5280 and the CA/B Baseline Requirements rules
 * that apply to it. A failure refuses the issuance with code `policy` and rule `lint.<name>`: the
 * certificate is never signed. One file per lint group; this file runs them.
 */
import { IssuanceError } from '../issuance/errors.ts';
import { parseTbsCertificate } from '../pki/certificate.ts';
import { decodeExtKeyUsage, decodeGeneralNames, decodeKeyUsage } from '../pki/extensions.ts';
import { decodeName } from '../pki/name.ts';
import { alg, ext } from '../pki/oids.ts';
import { readOid, readTlv } from '../pki/der.ts';
import { byBytes } from './memo.ts';
import { ekuLints } from './eku.ts';
import { extensionLints } from './extensions.ts';
import { keyUsageLints } from './key-usage.ts';
import { nameLints } from './names.ts';
import { serialLints } from './serial.ts';
import type { KeyType, Lint, LintRules, LintSubject } from './types.ts';
import { validityLints } from './validity.ts';

export type { Lint, LintRules } from './types.ts';

export const lints: readonly Lint[] = [...serialLints, ...validityLints, ...extensionLints, ...keyUsageLints, ...ekuLints, ...nameLints];

const keyUsageOf = byBytes(decodeKeyUsage);
const ekuOf = byBytes(decodeExtKeyUsage);
/** AlgorithmIdentifier DER → key type. */
const algorithmOf = byBytes((algId): KeyType => keyTypes[readOid(algId, readTlv(algId, readTlv(algId, 0).start))] ?? 'unknown');

const keyTypes: Record<string, KeyType> = {
  [alg.rsaEncryption]: 'RSA',
  [alg.ecPublicKey]: 'EC',
  [alg.ed25519]: 'Ed25519',
  [alg.ed448]: 'Ed448',
};

function once<T>(f: () => T): () => T {
  let done = false;
  let v: T;
  return () => {
    if (!done) {
      v = f();
      done = true;
    }
    return v;
  };
}

/** The AlgorithmIdentifier of a SubjectPublicKeyInfo: enough to name the key type. */
function spkiAlgorithmHeader(spki: Uint8Array): Uint8Array {
  const a = readTlv(spki, readTlv(spki, 0).start);
  return spki.subarray(a.start - a.headerLength, a.end);
}

/** Decodes the TBSCertificate once for every lint. Throws Error when it is not DER. */
export function lintSubject(tbsDer: Uint8Array): LintSubject {
  const tbs = parseTbsCertificate(tbsDer);
  const map = new Map<string, { critical: boolean; value: Uint8Array }>();
  const duplicates: string[] = [];
  for (const e of tbs.extensions) {
    if (map.has(e.oid)) duplicates.push(e.oid);
    else map.set(e.oid, { critical: e.critical, value: e.value });
  }
  const value = (oid: string) => map.get(oid)?.value;
  return {
    tbs,
    keyType: algorithmOf(spkiAlgorithmHeader(tbs.spki)),
    ext: map,
    duplicates,
    subject: once(() => decodeName(tbs.subject)),
    keyUsage: once(() => (value(ext.keyUsage) ? keyUsageOf(value(ext.keyUsage)!) : undefined)),
    extendedKeyUsage: once(() => (value(ext.extKeyUsage) ? ekuOf(value(ext.extKeyUsage)!) : undefined)),
    sans: once(() => (value(ext.subjectAltName) ? decodeGeneralNames(value(ext.subjectAltName)!) : undefined)),
  };
}

/** The first lint the certificate fails, or undefined. */
export function findLintFailure(tbsDer: Uint8Array, rules: LintRules): { lint: string; message: string } | undefined {
  let c: LintSubject;
  try {
    c = lintSubject(tbsDer);
  } catch (e) {
    return { lint: 'der', message: `the TBSCertificate does not decode: ${(e as Error).message}` };
  }
  for (const l of lints) {
    let problem: string | undefined;
    try {
      problem = l.check(c, rules);
    } catch (e) {
      problem = `cannot be checked: ${(e as Error).message}`;
    }
    if (problem) return { lint: l.name, message: problem };
  }
  return undefined;
}

/** Throws IssuanceError `policy` / `lint.<name>` when the certificate fails a lint. */
export function lintTbsCertificate(tbsDer: Uint8Array, rules: LintRules): void {
  const f = findLintFailure(tbsDer, rules);
  if (f) throw new IssuanceError('policy', `certificate lint ${f.lint} failed: ${f.message} (profile '${rules.profile}')`, `lint.${f.lint}`);
}
