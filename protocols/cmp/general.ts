/**
 * genm → genp (RFC 9810 §5.3.19, RFC 9483 §4.3): caCerts, rootCaKeyUpdate, certReqTemplate,
 * suppLangTags. Info types Certgate does not know are left out of the answer (§5.3.19: the
 * responder may ignore them).
 */
import { decodeGenContent, encodeGenContent, itOids, type InfoTypeAndValue } from '../../src/pki/cmp-info-type-value.ts';
import { readTlv, seq, utf8String } from '../../src/pki/der.ts';
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

function reply(ex: Exchange, item: InfoTypeAndValue): InfoTypeAndValue | undefined {
  switch (item.type) {
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
  await txs.claim({
    transactionId: ex.txid,
    bodyType: 'genm',
    sender: senderId(ex.sender!),
    alias: ex.alias,
    state: 'done',
    serverNonce: ex.nonce.toString('hex'),
    protection: { how: responseProtection(ex.sender!), implicit: false, answer: 'ip' },
  });
  const out = items.map((i) => reply(ex, i)).filter((i): i is InfoTypeAndValue => i !== undefined);
  return answer(ex, { type: 'genp', content: encodeGenContent(out) });
}
