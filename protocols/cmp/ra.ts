/**
 * RA mode (RFC 9483 §5, RFC 9810 §5.1.3.4). An authorised RA is the holder of a Certgate
 * certificate from the `cmp-signer` system profile or from a profile the alias names
 * (`:ra=P1+P2`). Its signature lets a request carry POP `raVerified` (RFC 4211 §4: the RA checked
 * the POP) and ask for names beyond its own; a `nested` body from it wraps the requesters'
 * messages, each of which is then processed as if received alone (its own protection, its own
 * transaction). The answer to one wrapped message is that message's own answer, which the RA
 * forwards unchanged (RFC 9483 §5.2.2.1); several (a batch, §5.2.2.2) are answered by a `nested`
 * body holding each answer, in order, signed by Certgate.
 */
import { decodeNestedMessageContent, encodeNestedMessageContent } from '../../src/pki/cmp-nested.ts';
import { answer, type Exchange } from './exchange.ts';
import { CmpFailure } from './failures.ts';
import type { Sender } from './protection.ts';

export const CMP_SIGNER_PROFILE = 'cmp-signer';

/** Whether this sender is an RA for the exchange's alias. */
export function authorisedRa(ex: Exchange, sender: Sender): boolean {
  if (sender.kind !== 'signature') return false;
  const profile = sender.record.profile;
  return profile === CMP_SIGNER_PROFILE || (ex.aliasSettings.raProfiles ?? []).includes(profile);
}

/**
 * A nested request: refused unless an authorised RA protected it; each inner message answered by
 * `handleInner` (which runs the whole server on it, with the RA as voucher).
 */
export async function nested(ex: Exchange, handleInner: (der: Buffer, ra: Sender) => Promise<Buffer>): Promise<Buffer> {
  if (!ex.ra) throw new CmpFailure('notAuthorized', 'nested messages are accepted only from an authorised RA (signature protection)');
  let inner: Buffer[];
  try {
    inner = decodeNestedMessageContent(ex.msg.body.content);
  } catch (e) {
    throw new CmpFailure('badDataFormat', `malformed nested body: ${(e as Error).message}`);
  }
  const answers: Buffer[] = [];
  // One after the other: the messages of a batch may belong to one transaction (ir, then certConf).
  for (const m of inner) answers.push(await handleInner(m, ex.ra));
  if (answers.length === 1) return answers[0];
  return answer(ex, { type: 'nested', content: encodeNestedMessageContent(answers) });
}
