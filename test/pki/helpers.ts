/** Shared helpers for the src/pki tests: key pairs, a CA + leaf built with our encoder, openssl. */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTbsCertificate, randomSerial, signTbs, signatureAlgorithmFor } from '../../src/pki/certificate.ts';
import * as X from '../../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { toPem } from '../../src/pki/pem.ts';
import type { Identifier } from '../../src/issuance/request.ts';

export type KeyKind = 'P-256' | 'P-384' | 'RSA-2048' | 'Ed25519';

export function keyPair(kind: KeyKind): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (kind) {
    case 'P-256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'P-384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'RSA-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'Ed25519':
      return generateKeyPairSync('ed25519');
  }
}

export function spkiOf(k: KeyObject): Buffer {
  return k.export({ format: 'der', type: 'spki' });
}

export function dn(s: string): Buffer {
  return encodeName(toEncodedAttributes(parseDn(s)));
}

export interface Ca {
  key: KeyObject;
  spki: Buffer;
  name: Buffer;
  der: Buffer;
  keyId: Buffer;
}

const minute = 60_000;
const day = 86_400_000;

export function makeCa(kind: KeyKind, subject = `CN=Test Root ${kind},O=Certgate Test,C=IN`): Ca {
  const { privateKey, publicKey } = keyPair(kind);
  const spki = spkiOf(publicKey);
  const name = dn(subject);
  const keyId = X.keyIdentifier(spki);
  const tbs = buildTbsCertificate({
    serial: randomSerial(),
    signatureAlgorithm: sigAlg(privateKey),
    issuer: name,
    subject: name,
    notBefore: new Date(Date.now() - 5 * minute),
    notAfter: new Date(Date.now() + 3650 * day),
    spki,
    extensions: [X.basicConstraints(true), X.keyUsage(['keyCertSign', 'cRLSign']), X.subjectKeyIdentifier(keyId)],
  });
  return { key: privateKey, spki, name, der: signTbs(tbs, privateKey), keyId };
}

export function sigAlg(k: KeyObject): Buffer {
  return signatureAlgorithmFor(k).algorithmIdentifier;
}

export function makeLeaf(
  ca: Ca,
  opts: { kind?: KeyKind; subject?: string; sans?: Identifier[]; serial?: Buffer; notAfter?: Date } = {},
): { der: Buffer; serial: Buffer; key: KeyObject } {
  const { privateKey, publicKey } = keyPair(opts.kind ?? 'P-256');
  const spki = spkiOf(publicKey);
  const serial = opts.serial ?? randomSerial();
  const sans = opts.sans ?? [{ type: 'dns', value: 'host.example' }];
  const tbs = buildTbsCertificate({
    serial,
    signatureAlgorithm: sigAlg(ca.key),
    issuer: ca.name,
    subject: dn(opts.subject ?? 'CN=host.example,O=Certgate Test,C=IN'),
    notBefore: new Date(Date.now() - minute),
    notAfter: opts.notAfter ?? new Date(Date.now() + 90 * day),
    spki,
    extensions: [
      X.basicConstraints(false),
      X.keyUsage(['digitalSignature', 'keyEncipherment']),
      X.extKeyUsage(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']),
      X.subjectKeyIdentifier(X.keyIdentifier(spki)),
      X.authorityKeyIdentifier(ca.keyId),
      X.subjectAltName(sans),
      X.crlDistributionPoints(['http://crl.example/ca.crl']),
      X.authorityInfoAccess({ ocsp: ['http://ocsp.example'], caIssuers: ['http://ca.example/ca.cer'] }),
      X.certificatePolicies(['2.23.140.1.2.1']),
    ],
  });
  return { der: signTbs(tbs, ca.key), serial, key: privateKey };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'certgate-pki-'));
}

export function writePem(dir: string, file: string, der: Uint8Array, label: string): string {
  const p = join(dir, file);
  writeFileSync(p, toPem(der, label));
  return p;
}

/** Runs openssl; returns stdout+stderr and the exit status (never throws on a non-zero exit). */
export function openssl(args: string[], input?: string): { status: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
