/** OpenPACE's tools (Debian `openpace`) as the independent implementation: cvc-create, cvc-print. */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CvSigner } from '../../src/pki/cvc/index.ts';

export function cvcPrint(args: string[]): { status: number; out: string } {
  const r = spawnSync('cvc-print', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Writes each certificate into `dir` under its CHR (cvc-print --cvc-dir looks CARs up by name). */
export function trustDir(dir: string, certs: { chr: string; der: Uint8Array }[]): string {
  mkdirSync(dir, { recursive: true });
  for (const c of certs) writeFileSync(join(dir, c.chr), c.der);
  return dir;
}

/** Runs cvc-create in `dir`; returns the certificate it wrote. */
export function cvcCreate(dir: string, args: string[]): Buffer {
  const chr = args.find((a) => a.startsWith('--chr='))!.slice(6);
  const r = spawnSync('cvc-create', [...args, `--out-cert=${join(dir, `${chr}.cvcert`)}`], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cvc-create failed: ${r.stdout}${r.stderr}`);
  return readFileSync(join(dir, `${chr}.cvcert`));
}

/** A node EC key on `curve`, written as PKCS#8 DER for cvc-create, with a CvSigner over it. */
export function ecKey(dir: string, name: string, curve: string): { file: string; privateKey: KeyObject; signer: CvSigner } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const file = join(dir, `${name}.pkcs8`);
  writeFileSync(file, privateKey.export({ format: 'der', type: 'pkcs8' }));
  const hash = /384/.test(curve) ? 'sha384' : /512|521/.test(curve) ? 'sha512' : 'sha256';
  return { file, privateKey, signer: { publicKey, sign: (d) => nodeSign(hash, d, privateKey) } };
}

export const schemeFor = (curve: string) => (/384/.test(curve) ? 'ECDSA_SHA_384' : /512|521/.test(curve) ? 'ECDSA_SHA_512' : 'ECDSA_SHA_256');
