/**
 * SCEP (RFC 8894): real PKCSReq pkiMessages (SignedData around an EnvelopedData for the RA, built
 * the way test/scep's client builds them, with a real one-time challenge) mutated at the DER level —
 * the outer SignedData, or the inner EnvelopedData re-signed for real — sent by POST and by GET
 * (base64 `message=`), plus GetCACaps/GetCACert/GetNextCACert with junk parameters.
 */
import { randomBytes } from 'node:crypto';
import { MessageType, encodeRequestAttributes } from '../../protocols/scep/attributes.ts';
import { buildSignedData, encryptEnveloped, parseSignedData } from '../../src/pki/cms.ts';
import { device, keySigner, pkiMessage, transactionIdFor, type Requester } from '../../test/scep/client.ts';
import { mutateDer, nestSequences } from '../mutate/der.ts';
import type { Rng } from '../rng.ts';
import { oddUrlString } from '../seeds.ts';
import type { FuzzInput, FuzzTarget } from '../types.ts';

const seeds: Buffer[] = [];
let ra: Uint8Array;
let requester: Requester;
let envelope: Buffer;

const target: FuzzTarget = {
  name: 'scep',
  async setup(server) {
    const cacert = await server.fetch('/scep?operation=GetCACert');
    if (cacert.status !== 200) throw new Error(`scep GetCACert: ${cacert.status}`);
    ra = parseSignedData(Buffer.from(await cacert.arrayBuffer())).certificates[0];
    const ch = await server.fetch('/api/v1/scep/challenges', {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ label: 'default', ttlSeconds: 86_400 }),
    });
    if (ch.status !== 201 && ch.status !== 200) throw new Error(`scep seed challenge: ${ch.status} ${await ch.text()}`);
    const { challenge } = (await ch.json()) as { challenge: string };
    requester = device({ subject: 'CN=scep-fuzz.example.com,O=Fuzz', challenge });
    const tid = transactionIdFor(requester.spki);
    for (const cipher of ['aes-256-cbc', 'aes-128-cbc', 'des-ede3-cbc'] as const) {
      const m = await pkiMessage({ messageType: MessageType.PKCSReq, transactionID: tid, content: requester.csr, recipientCert: ra, cipher, digest: 'sha256', signerCert: requester.signerCert, signerKey: requester.signerKey });
      seeds.push(m.der);
    }
    envelope = await encryptEnveloped(requester.csr, [{ certDer: ra }], 'aes-256-cbc');
  },
  async next(rng: Rng): Promise<FuzzInput> {
    const path = rng.pick(['/scep', '/scep/pkiclient.exe', '/cgi-bin/pkiclient.exe', '/scep/default', `/scep/${oddUrlString(rng)}`]);
    const op = rng.int(10);
    if (op === 0) {
      const operation = rng.pick(['GetCACaps', 'GetCACert', 'GetNextCACert', oddUrlString(rng), '']);
      const extra = rng.chance(0.6) ? `&${oddUrlString(rng)}=${oddUrlString(rng)}&message=${oddUrlString(rng)}` : '';
      return { method: 'GET', path: `${path}?operation=${operation}${extra}`, kind: 'get.ca' };
    }
    let der: Buffer;
    let kind: string;
    if (op <= 2) {
      // The inner EnvelopedData mutated, then signed for real: reaches decryption and the CSR parser.
      const m = mutateDer(rng, envelope);
      der = await buildSignedData({
        content: m.bytes,
        signer: keySigner(requester.signerKey),
        signerCert: requester.signerCert,
        signedAttributes: encodeRequestAttributes(MessageType.PKCSReq, transactionIdFor(requester.spki), randomBytes(16)),
        digest: 'sha256',
        rsaSignatureOid: 'sha-with-rsa',
      });
      kind = `inner.${m.kind}`;
    } else if (op <= 8) {
      ({ bytes: der, kind } = mutateDer(rng, rng.pick(seeds)));
      kind = `outer.${kind}`;
    } else {
      der = rng.pick([Buffer.alloc(0), rng.bytes(rng.int(500)), nestSequences(Buffer.alloc(0), 10_000), rng.pick(seeds)]);
      kind = 'generated';
    }
    if (rng.chance(0.3)) {
      const b64 = rng.chance(0.8) ? encodeURIComponent(der.toString('base64')) : der.toString('base64');
      return { method: 'GET', path: `${path}?operation=PKIOperation&message=${b64}`, kind: `get.${kind}` };
    }
    const type = rng.chance(0.9) ? 'application/x-pki-message' : rng.pick(['application/octet-stream', 'text/plain', '']);
    return { method: 'POST', path: `${path}?operation=PKIOperation`, headers: type ? { 'content-type': type } : {}, body: der, kind: `post.${kind}` };
  },
};

export default target;
