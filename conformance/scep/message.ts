/**
 * Makes SCEP pkiMessages for certmonger's scep-submit (the certmonger daemon normally makes them;
 * here Certgate's test client does, so the helper runs without D-Bus). Prints base64 DER, as the
 * daemon passes CERTMONGER_PKCSREQ.
 *
 *   node --import tsx conformance/scep/message.ts pkcsreq  <ra.pem> <key.pem> <signer.pem> <subject> <challenge> <tid> [cipher]
 *   node --import tsx conformance/scep/message.ts certpoll <ra.pem> <key.pem> <signer.pem> <issuer.pem> <subject> <tid> [cipher]
 *   node --import tsx conformance/scep/message.ts keygen   <key.pem> <signer.pem>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { MessageType } from '../../protocols/scep/attributes.ts';
import { encodeIssuerAndSubject } from '../../protocols/scep/content.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { buildCsr } from '../../src/pki/csr.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { keyFromPem, pemKey, pkiMessage, rsaKey, selfSigned } from '../../test/scep/client.ts';
import type { ContentCipher } from '../../src/pki/cms.ts';

const [op, ...a] = process.argv.slice(2);
const pem = (f: string) => fromPem(readFileSync(f, 'utf8'), 'CERTIFICATE')[0];

async function main() {
  if (op === 'keygen') {
    const key = rsaKey();
    writeFileSync(a[0], pemKey(key), { mode: 0o600 });
    const cert = selfSigned(key);
    writeFileSync(a[1], `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
    return;
  }
  const ra = pem(a[0]);
  const key = keyFromPem(readFileSync(a[1], 'utf8'));
  const signerCert = pem(a[2]);
  let content: Buffer;
  let messageType: MessageType;
  let tid: string;
  let cipher: ContentCipher;
  if (op === 'pkcsreq') {
    // A host name as CN is also the DNS SAN (profiles with serverAuth need it).
    const cn = /CN=([^,]+)/.exec(a[3])?.[1] ?? '';
    const extensions = cn.includes('.') ? [subjectAltName([{ type: 'dns', value: cn }])] : [];
    content = buildCsr({ subject: encodeName(toEncodedAttributes(parseDn(a[3]))), key, challengePassword: a[4], extensions });
    messageType = MessageType.PKCSReq;
    tid = a[5];
    cipher = (a[6] ?? 'aes-256-cbc') as ContentCipher;
  } else if (op === 'certpoll') {
    const issuer = Buffer.from(parseCertificate(pem(a[3])).subject);
    content = encodeIssuerAndSubject({ issuer, subject: encodeName(toEncodedAttributes(parseDn(a[4]))) });
    messageType = MessageType.CertPoll;
    tid = a[5];
    cipher = (a[6] ?? 'aes-256-cbc') as ContentCipher;
  } else {
    throw new Error(`unknown operation ${op}`);
  }
  const m = await pkiMessage({ messageType, transactionID: tid, content, recipientCert: ra, cipher, digest: 'sha256', signerCert, signerKey: key });
  process.stdout.write(m.der.toString('base64') + '\n');
}

main().catch((e) => {
  console.error(`message.ts: ${(e as Error).message}`);
  process.exit(1);
});
