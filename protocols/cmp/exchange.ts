/**
 * One request/answer exchange: the decoded request, its authenticated sender, the alias, and how
 * to build and protect the answer (header fields per RFC 9810 §5.1.1 and RFC 9483 §3.1).
 */
import { randomBytes } from 'node:crypto';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import type { PKIBody } from '../../src/pki/cmp-body.ts';
import { directoryGeneralName, NULL_DN_NAME, type PKIHeader } from '../../src/pki/cmp-header.ts';
import { encodeErrorMsgContent } from '../../src/pki/cmp-error-msg.ts';
import { itOids, type InfoTypeAndValue } from '../../src/pki/cmp-info-type-value.ts';
import type { DecodedPKIMessage } from '../../src/pki/cmp-message.ts';
import { PKIStatus } from '../../src/pki/cmp-status-info.ts';
import type { CmpFailure } from './failures.ts';
import { protect, type Sender } from './protection.ts';
import type { AliasSettings, CmpSettings } from './settings.ts';

export interface Exchange {
  ctx: ProtocolContext;
  settings: CmpSettings;
  msg: DecodedPKIMessage;
  /** Undefined when the request's protection did not verify. */
  sender?: Sender;
  /**
   * The authorised RA vouching for this message (RFC 9483 §5): its own signer, or the signer of
   * the nested message that carried it. raVerified POP and free names need one.
   */
  ra?: Sender;
  alias: string;
  aliasSettings: AliasSettings;
  /** transactionID, lower-case hex. */
  txid: string;
  /** The senderNonce of our answer. */
  nonce: Buffer;
}

const nameCache = new WeakMap<ProtocolContext, Map<string, Buffer>>();

/** The CA's name as a directoryName GeneralName (the sender of MAC-protected answers). */
async function caName(ctx: ProtocolContext, issuerId: string): Promise<Buffer> {
  let names = nameCache.get(ctx);
  if (!names) nameCache.set(ctx, (names = new Map()));
  const hit = names.get(issuerId);
  if (hit) return hit;
  const issuer = await ctx.issuers.get(issuerId);
  const name = issuer ? directoryGeneralName(parseCertificate(issuer.certDer).subject) : NULL_DN_NAME;
  names.set(issuerId, name);
  return name;
}

/** The issuer that answers when no certificate decides it: the default one. */
export function defaultIssuerId(ctx: ProtocolContext): string {
  const d = ctx.issuers.default() ?? ctx.issuers.list()[0];
  if (!d) throw new Error('no issuer configured');
  return d.id;
}

export interface AnswerOptions {
  issuerId?: string;
  extraCerts?: Buffer[];
  generalInfo?: InfoTypeAndValue[];
  /** Force signature protection (the sender's MAC cannot be used). */
  sign?: boolean;
}

/** Builds, protects and encodes the answer. */
export async function answer(ex: Exchange, body: PKIBody, o: AnswerOptions = {}): Promise<Buffer> {
  const req = ex.msg.header;
  const issuerId = o.issuerId ?? (ex.sender?.kind === 'signature' ? ex.sender.record.issuerId : defaultIssuerId(ex.ctx));
  const header: PKIHeader = {
    pvno: req.pvno === 3 ? 3 : 2,
    sender: await caName(ex.ctx, issuerId),
    recipient: req.sender,
    messageTime: new Date(),
    senderKID: ex.sender?.kind === 'mac' ? req.senderKID : undefined,
    transactionID: req.transactionID,
    senderNonce: ex.nonce,
    recipNonce: req.senderNonce,
    generalInfo: o.generalInfo,
  };
  return protect(ex.ctx, { sender: o.sign ? undefined : ex.sender, issuerId }, header, body, o.extraCerts);
}

/** An `error` answer; signed by the CA when the sender's MAC could not be verified. */
export function errorAnswer(ex: Exchange, f: CmpFailure): Promise<Buffer> {
  const content = encodeErrorMsgContent({ status: { status: PKIStatus.rejection, statusString: [f.message], failInfo: [f.failInfo] } });
  return answer(ex, { type: 'error', content }, { sign: !f.senderTrusted || !ex.sender });
}

export function newNonce(): Buffer {
  return randomBytes(16);
}

export const implicitConfirmInfo: InfoTypeAndValue = { type: itOids.implicitConfirm, value: Buffer.from([0x05, 0x00]) };

export function wantsImplicitConfirm(msg: DecodedPKIMessage): boolean {
  return !!msg.header.generalInfo?.some((i) => i.type === itOids.implicitConfirm);
}
