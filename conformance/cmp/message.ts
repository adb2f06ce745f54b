/**
 * CMP messages OpenSSL 3.0's `openssl cmp` cannot send, built with Certgate's test client and
 * POSTed with fetch; what comes back is written to files for openssl to check.
 *
 *   node --import tsx conformance/cmp/message.ts central <url> <ref> <secret> <cn> <env.der> <cert.pem>
 *     ir with no public key (central key generation, MAC): writes the private-key envelope as a
 *     CMS ContentInfo (EnvelopedData) and the certificate.
 *   node --import tsx conformance/cmp/message.ts nested <url> <ref> <secret> <cn> <ra.pem> <ra.key> <cert.pem>
 *     the requester's MAC-protected ir wrapped by the RA in a nested message signed with its key.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeCertRepMessage } from '../../src/pki/cmp-cert-rep.ts';
import { encodeNestedMessageContent } from '../../src/pki/cmp-nested.ts';
import { cmsOids, encodeContentInfo } from '../../src/pki/cms-content-info.ts';
import { encodeCertReqMessages } from '../../src/pki/crmf-cert-req-messages.ts';
import { oid, readTlv, seq } from '../../src/pki/der.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { fromPem, toPem } from '../../src/pki/pem.ts';
import { crmfBody, decodeAnswer, failInfoOf, header, issuedCert, newKey, protect, type Protection } from '../../test/cmp/client.ts';

const [op, url, ref, secret, cn, ...rest] = process.argv.slice(2);
const mac: Protection = { kind: 'pbm', ref, secret };

async function post(der: Buffer) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/pkixcmp' }, body: der });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  const m = decodeAnswer(Buffer.from(await r.arrayBuffer()));
  if (m.body.type === 'error') throw new Error(`refused: ${failInfoOf(m).join(',')}`);
  return m;
}

async function main() {
  if (op === 'central') {
    const [envFile, certFile] = rest;
    const certTemplate = { subject: encodeName(toEncodedAttributes(parseDn(`CN=${cn}`))), extensions: seq(subjectAltName([{ type: 'dns', value: cn }])) };
    const body = { type: 'ir' as const, content: encodeCertReqMessages([{ certReq: { certReqId: 0n, certTemplate } }]) };
    const m = await post(protect(header({ implicit: true }), body, mac));
    const rep = decodeCertRepMessage(m.body.content, readTlv(m.body.content)).response[0];
    if (!rep.privateKeyEnveloped) throw new Error('no privateKey in the answer');
    writeFileSync(envFile, encodeContentInfo(cmsOids.envelopedData, rep.privateKeyEnveloped));
    writeFileSync(certFile, toPem(issuedCert(m), 'CERTIFICATE'));
    return;
  }
  if (op === 'nested') {
    const [raCert, raKey, certFile] = rest;
    const inner = protect(header({ implicit: true }), crmfBody('ir', cn.replace(/\.example$/, ''), newKey()), mac);
    const ra: Protection = {
      kind: 'signature',
      key: createPrivateKey(readFileSync(raKey)),
      certDer: fromPem(readFileSync(raCert, 'utf8'), 'CERTIFICATE')[0],
      algDer: seq(oid('1.2.840.10045.4.3.2')),
      hash: 'sha256',
    };
    const m = await post(protect(header(), { type: 'nested', content: encodeNestedMessageContent([inner]) }, ra));
    writeFileSync(certFile, toPem(issuedCert(m), 'CERTIFICATE'));
    return;
  }
  throw new Error(`unknown operation ${op}`);
}

main().catch((e) => {
  console.error(`cmp message: ${(e as Error).message}`);
  process.exit(1);
});
