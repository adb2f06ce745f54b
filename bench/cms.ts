/**
 * The shared CMS layer on one core, as SCEP and CMP will drive it per request: verify a signed
 * pkiMessage (RSA-2048 and P-256 signers), decrypt its envelope (RSA-2048 PKCS#1 v1.5 key
 * transport with implicit rejection; AES-128-CBC, and single DES through our own DES), build the
 * signed reply and encrypt it to the client. Figures only: no bar yet; RSA-2048 private-key
 * operations (~1,500/s per core in node) bound the decrypt and the RSA sign.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SoftwareRsaDecrypter } from '../src/ca/rsa-decrypter.ts';
import { SoftwareSigner } from '../src/ca/signer.ts';
import { buildTbsCertificate, randomSerial, signTbs, signatureAlgorithmFor } from '../src/pki/certificate.ts';
import { buildSignedData, decryptEnveloped, encryptEnveloped, parseSignedData, verifySigner } from '../src/pki/cms.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../src/pki/name.ts';
import { fmt } from './support.ts';

function selfSigned(kind: 'rsa' | 'ec') {
  const { privateKey, publicKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = encodeName(toEncodedAttributes(parseDn(`CN=bench ${kind}`)));
  const tbs = buildTbsCertificate({
    serial: randomSerial(),
    signatureAlgorithm: signatureAlgorithmFor(privateKey).algorithmIdentifier,
    issuer: name,
    subject: name,
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 86_400_000),
    spki: publicKey.export({ format: 'der', type: 'spki' }),
    extensions: [],
  });
  return { der: signTbs(tbs, privateKey), privateKey };
}

async function rate(label: string, seconds: number, fn: () => unknown | Promise<unknown>): Promise<void> {
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    await fn();
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`  ${label.padEnd(58)} ${fmt(n / s).padStart(8)}/s  (${fmt((s / n) * 1000, 2)} ms each)`);
}

export async function run({ quick }: { quick: boolean }): Promise<void> {
  const seconds = quick ? 0.5 : 2;
  console.log('\n== CMS (src/pki/cms.ts), one core, sequential ==');
  const rsa = selfSigned('rsa');
  const ec = selfSigned('ec');
  const csr = Buffer.alloc(900, 0x41); // the size of an RSA-2048 PKCS#10 request
  const rsaSigner = new SoftwareSigner(rsa.privateKey);
  const ecSigner = new SoftwareSigner(ec.privateKey);
  const decrypter = new SoftwareRsaDecrypter(rsa.privateKey);
  const envAes = encryptEnveloped(csr, [{ certDer: rsa.der }], 'aes-128-cbc');
  const envDes = encryptEnveloped(csr, [{ certDer: rsa.der }], 'des-cbc');
  const signedRsa = await buildSignedData({ content: envAes, signer: rsaSigner, signerCert: rsa.der });
  const signedEc = await buildSignedData({ content: envAes, signer: ecSigner, signerCert: ec.der });

  await rate('parseSignedData + verifySigner, RSA-2048 signer', seconds, () => verifySigner(parseSignedData(signedRsa), 0));
  await rate('parseSignedData + verifySigner, P-256 signer', seconds, () => verifySigner(parseSignedData(signedEc), 0));
  await rate('decryptEnveloped, RSA-2048 v1.5 + AES-128-CBC', seconds, () => decryptEnveloped(envAes, decrypter));
  await rate('decryptEnveloped, RSA-2048 v1.5 + DES-CBC (our DES)', seconds, () => decryptEnveloped(envDes, decrypter));
  await rate('buildSignedData, RSA-2048 signer', seconds, () => buildSignedData({ content: envAes, signer: rsaSigner, signerCert: rsa.der }));
  await rate('encryptEnveloped to one RSA-2048 recipient, AES-128-CBC', seconds, () => encryptEnveloped(csr, [{ certDer: rsa.der }], 'aes-128-cbc'));
}
