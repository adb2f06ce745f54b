/**
 * ePassport (TR-03129 messages carrying TR-03110 CV requests): real requests for a registered DV,
 * bare and with an outer signature, mutated at the TLV level (two-byte tags, lengths, nesting,
 * order, truncation) inside otherwise valid JSON messages; the JSON messages themselves mutated;
 * generated junk. Every answer must be a return code, never a 5xx.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { buildCvRequest, curveParams, cvCurves, cvPublicKeyOf, taAlgorithmFor, type CvSigner } from '../../src/pki/cvc/index.ts';
import { mutateDer, nestSequences } from '../mutate/der.ts';
import { mutateJson } from '../mutate/json.ts';
import type { Rng } from '../rng.ts';
import { oddUrlString } from '../seeds.ts';
import type { FuzzInput, FuzzTarget } from '../types.ts';

const seeds: Buffer[] = [];
const OPS = ['requestCertificate', 'requestForeignCertificate', 'getCACertificates', 'sendCertificates', 'getDocumentSignerList'];

function key(): CvSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' });
  return { publicKey, sign: (d) => sign('sha256', d, privateKey) };
}

async function cvRequest(chr: string, k: CvSigner, outer?: { car: string; signer: CvSigner }): Promise<Buffer> {
  const pk = { ...cvPublicKeyOf(k.publicKey, taAlgorithmFor(k.publicKey), false), params: curveParams(cvCurves.brainpoolP256r1) };
  return (await buildCvRequest({ profileId: 0, car: 'FZCVCA00001', chr, publicKey: pk }, k, outer)).der;
}

const target: FuzzTarget = {
  name: 'epassport',
  async setup(server) {
    const admin = async (method: string, path: string, body: unknown) => {
      const r = await server.fetch(`/api/v1/epassport${path}`, { method, headers: { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`epassport setup ${path}: ${r.status} ${await r.text()}`);
    };
    await admin('POST', '/cvcas', { chr: 'FZCVCA00001', curve: 'brainpoolP256r1' });
    await admin('PUT', '/profiles/fz-dv', { role: 'dv_domestic', terminalType: 'is', chat: '03', maxValidityDays: 30 });
    await admin('POST', '/holders', { holder: 'FZDV', role: 'dv_domestic', authority: 'FZCVCA', profile: 'fz-dv', initialAllowed: true });
    const first = key();
    const bare = await cvRequest('FZDV00001', first);
    const r = await server.fetch('/epassport/v5/requestCertificate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ callbackIndicator: 'callback_not_possible', certReq: bare.toString('base64') }) });
    const j = (await r.json()) as { returnCode: string };
    if (j.returnCode !== 'ok_cert_available') throw new Error(`epassport seed request: ${j.returnCode}`);
    seeds.push(bare, await cvRequest('FZDV00002', key(), { car: 'FZDV00001', signer: first }));
  },
  next(rng: Rng): FuzzInput {
    const op = rng.pick(OPS);
    const path = rng.chance(0.95) ? `/epassport/v5/${op}` : `/epassport/v5/${oddUrlString(rng)}`;
    const headers = { 'content-type': 'application/json' };
    const pickReq = (): { der: Buffer; kind: string } => {
      const r = rng.int(10);
      if (r <= 6) {
        const m = mutateDer(rng, rng.pick(seeds));
        return { der: m.bytes, kind: m.kind };
      }
      if (r === 7) return { der: nestSequences(Buffer.alloc(0), rng.pick([10, 1000, 10_000])), kind: 'nesting' };
      if (r === 8) return { der: rng.bytes(rng.int(400)), kind: 'random' };
      return { der: rng.pick(seeds), kind: 'seed' };
    };
    const req = pickReq();
    if (rng.chance(0.25)) return soapInput(rng, req.der, req.kind);
    const msg: Record<string, unknown> = { callbackIndicator: 'callback_not_possible', messageID: `fz-${rng.int(1e9)}`, certReq: req.der.toString('base64') };
    if (op === 'requestForeignCertificate') msg.foreignCAR = 'XXCVCA00001';
    if (op === 'sendCertificates') msg.certificateSeq = [req.der.toString('base64')];
    if (rng.chance(0.3)) {
      const m = mutateJson(rng, msg);
      return { method: 'POST', path, headers, body: m.text, kind: `${op}.${m.kind}` };
    }
    return { method: 'POST', path, headers, body: JSON.stringify(msg), kind: `${op}.tlv.${req.kind}` };
  },
};

const SOAP_OPS = ['RequestCertificate', 'RequestForeignCertificate', 'GetCACertificates', 'SendCertificates', 'GetDocumentSignerList', 'Nope'];
const XML_JUNK = ['<!DOCTYPE x [<!ENTITY e "e">]>', '&e;', '&#0;', '&#xd800;', '<![CDATA[', '<?pi?>', '<a b=c>', '</x>', '\u0000', '<a>'.repeat(200)];

/** A SOAP envelope around a (mutated) request, with XML-level damage some of the time. */
function soapInput(rng: Rng, der: Buffer, kind: string): FuzzInput {
  const op = rng.pick(SOAP_OPS);
  let inner = `<callbackIndicator>${rng.pick(['callback_not_possible', 'callback_possible', oddUrlString(rng)])}</callbackIndicator><messageID><ns1:messageID>${oddUrlString(rng)}</ns1:messageID></messageID><certReq>${der.toString('base64')}</certReq>`;
  if (op === 'SendCertificates') inner = `<certificateSeq><ns1:certificate>${der.toString('base64')}</ns1:certificate></certificateSeq>`;
  let xml = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="uri:EAC-PKI-CVCA-Protocol/1.1" xmlns:ns1="uri:eacBT/1.1"><s:Body><ns:${op}>${inner}</ns:${op}></s:Body></s:Envelope>`;
  let how = 'soap';
  if (rng.chance(0.4)) {
    const at = rng.int(xml.length);
    xml = xml.slice(0, at) + rng.pick(XML_JUNK) + xml.slice(rng.chance(0.5) ? at : at + rng.int(40));
    how = 'soap.xml';
  }
  return { method: 'POST', path: '/epassport/soap', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: xml, kind: `${how}.${op}.${kind}` };
}

export default target;
