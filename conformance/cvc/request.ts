/**
 * Writes a CV certificate request (TR-03110-3 C.2) for the conformance run, with keys from PKCS#8
 * DER files (made by openssl): node --import tsx conformance/cvc/request.ts --key K --chr CHR
 * [--car CAR] [--outer-car CAR --outer-key K] [--no-params] [--tamper inner|outer] --out FILE
 */
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildCvRequest, curveOfKey, cvPublicKeyOf, taAlgorithmFor, type CvSigner } from '../../src/pki/cvc/index.ts';

const { values: o } = parseArgs({
  options: { key: { type: 'string' }, chr: { type: 'string' }, car: { type: 'string' }, 'outer-car': { type: 'string' }, 'outer-key': { type: 'string' }, 'no-params': { type: 'boolean' }, tamper: { type: 'string' }, out: { type: 'string' } },
});

function signer(file: string): CvSigner {
  const privateKey = createPrivateKey({ key: readFileSync(file), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const hash = curveOfKey(publicKey).hash;
  return { publicKey, sign: (d) => sign(hash, d, privateKey) };
}

const key = signer(o.key!);
const r = await buildCvRequest(
  { profileId: 0, car: o.car, chr: o.chr!, publicKey: cvPublicKeyOf(key.publicKey, taAlgorithmFor(key.publicKey), !o['no-params']) },
  key,
  o['outer-car'] ? { car: o['outer-car'], signer: signer(o['outer-key']!) } : undefined,
);
const der = Buffer.from(r.der);
// A bit flipped inside the outer signature (the last bytes) or the inner one (the end of the 7F21).
if (o.tamper === 'outer') der[der.length - 3] ^= 1;
if (o.tamper === 'inner') der[der.indexOf(r.inner.der) + r.inner.der.length - 3] ^= 1;
writeFileSync(o.out!, der);
