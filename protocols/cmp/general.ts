/**
 * genm → genp (RFC 9810 §5.3.19, RFC 9483 §4.3): caCerts, rootCaKeyUpdate, certReqTemplate,
 * crlStatusList → crls, suppLangTags. Info types Certgate does not know are left out of the answer (§5.3.19: the
 * responder may ignore them).
 */
import { decodeGenContent, encodeGenContent, itOids, type InfoTypeAndValue } from '../../src/pki/cmp-info-type-value.ts';
import { decodeCrlStatusList, encodeCrls, type CrlSourceNames } from '../../src/pki/cmp-crl-status.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { readTlv, seq, utf8String } from '../../src/pki/der.ts';
import type { IssuerView } from '../../src/protocol-context.ts';
import { answer, type Exchange } from './exchange.ts';
import { CmpFailure } from './failures.ts';
import { responseProtection, senderId } from './protection.ts';
import type { Transactions } from './transactions.ts';

/** Every active issuer's certificate (a client's trust anchors and intermediates), each once. */
function caCerts(ex: Exchange): Buffer {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const i of ex.ctx.issuers.list()) {
    if (i.status !== 'active') continue;
    for (const c of [i.certDer, ...i.chain]) {
      const b = Buffer.from(c);
      const k = b.toString('base64');
      if (!seen.has(k)) {
        seen.add(k);
        out.push(b);
      }
    }
  }
  return seq(...out);
}

/** Our issuer a CRLSource names: by its subject, or by its complete CRL's URL (what certificates carry). */
function issuerNamed(ex: Exchange, source: CrlSourceNames): IssuerView | undefined {
  const issuers = [...ex.ctx.issuers.list()].sort((a, b) => Number(b.status === 'active') - Number(a.status === 'active'));
  if (source.kind === 'issuer') {
    return issuers.find((i) => source.directoryNames.some((n) => n.equals(Buffer.from(parseCertificate(i.certDer).subject))));
  }
  return issuers.find((i) => source.uris.includes(`${ex.ctx.config.publicUrl}/crl/${i.id}.crl`));
}

/**
 * CRL update retrieval (RFC 9483 §4.3.4): the complete CRL of each issuer named, when newer than
 * the thisUpdate the client gave; the value is absent when none is newer. Sources that name no
 * issuer of ours are left out.
 */
async function crls(ex: Exchange, item: InfoTypeAndValue): Promise<InfoTypeAndValue> {
  if (!item.value) throw new CmpFailure('badDataFormat', 'crlStatusList without a CRLStatusListValue');
  let list;
  try {
    list = decodeCrlStatusList(item.value);
  } catch (e) {
    throw new CmpFailure('badDataFormat', `malformed crlStatusList: ${(e as Error).message}`);
  }
  if (list.length > 16) throw new CmpFailure('badRequest', 'too many CRLStatus in one crlStatusList');
  const found = new Map<string, Buffer>();
  for (const status of list) {
    const issuer = issuerNamed(ex, status.source);
    if (!issuer || found.has(issuer.id)) continue;
    const crl = await ex.ctx.crls.latest(issuer.id);
    // The client's thisUpdate comes from the CRL's encoding: whole seconds.
    if (!crl || (status.thisUpdate && Math.floor(crl.thisUpdate.getTime() / 1000) <= Math.floor(status.thisUpdate.getTime() / 1000))) continue;
    found.set(issuer.id, crl.der);
  }
  return found.size ? { type: itOids.crls, value: encodeCrls([...found.values()]) } : { type: itOids.crls };
}

async function reply(ex: Exchange, item: InfoTypeAndValue): Promise<InfoTypeAndValue | undefined> {
  switch (item.type) {
    case itOids.crlStatusList:
      return crls(ex, item);
    case itOids.caCerts:
      return { type: item.type, value: caCerts(ex) };
    case itOids.rootCaKeyUpdate:
      // No root key update is announced: the value is absent (RFC 9483 §4.3.2).
      return { type: item.type };
    case itOids.certReqTemplate:
      // The profile decides subject and extensions; no template is offered (§4.3.3: absent value).
      return { type: item.type };
    case itOids.suppLangTags:
      return { type: item.type, value: seq(utf8String('en')) };
    default:
      return undefined;
  }
}

export async function general(ex: Exchange, txs: Transactions): Promise<Buffer> {
  let items: InfoTypeAndValue[];
  try {
    items = decodeGenContent(ex.msg.body.content, readTlv(ex.msg.body.content));
  } catch (e) {
    throw new CmpFailure('badDataFormat', `malformed genm: ${(e as Error).message}`);
  }
  if (items.length > 16) throw new CmpFailure('badRequest', 'too many InfoTypeAndValue in one genm');
  // Answers first: a malformed value is refused before the transaction is claimed.
  const out: InfoTypeAndValue[] = [];
  for (const i of items) {
    const r = await reply(ex, i);
    if (r) out.push(r);
  }
  await txs.claim({
    transactionId: ex.txid,
    bodyType: 'genm',
    sender: senderId(ex.sender!),
    alias: ex.alias,
    state: 'done',
    serverNonce: ex.nonce.toString('hex'),
    protection: { how: responseProtection(ex.sender!), implicit: false, answer: 'ip' },
  });
  return answer(ex, { type: 'genp', content: encodeGenContent(out) });
}
