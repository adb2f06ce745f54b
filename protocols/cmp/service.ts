/**
 * The CMP server (RFC 9810, Lightweight CMP RFC 9483): decode, authenticate, check the header,
 * dispatch by body type, answer. Every refusal is an `error` PKIMessage; only a body that is not
 * a PKIMessage at all is refused at the HTTP level (RFC 9811 §3.3).
 */
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { pkiConfBody } from '../../src/pki/cmp-body.ts';
import { decodeHeader } from '../../src/pki/cmp-header.ts';
import { decodePKIMessage, type DecodedPKIMessage } from '../../src/pki/cmp-message.ts';
import { readTlv, Tag } from '../../src/pki/der.ts';
import { confirm, poll } from './confirm.ts';
import { enroll } from './enroll.ts';
import { answer, errorAnswer, newNonce, type Exchange } from './exchange.ts';
import { isIssuanceError } from '../../src/issuance/errors.ts';
import { CmpFailure, failInfoForError } from './failures.ts';
import { general } from './general.ts';
import { senderId, verifyProtection, type Sender } from './protection.ts';
import { authorisedRa, nested } from './ra.ts';
import { revoke } from './revoke.ts';
import type { SecretStore } from './secrets.ts';
import { aliasSettings, type CmpSettings } from './settings.ts';
import { Transactions } from './transactions.ts';
import { UNCONFIRMED_REASON } from './confirm.ts';

/** The body is not a PKIMessage: HTTP 400. */
export class NotAPKIMessage extends Error {}

function decode(der: Uint8Array): DecodedPKIMessage | { header: DecodedPKIMessage['header']; error: string } {
  try {
    return decodePKIMessage(der);
  } catch (e) {
    // A readable header is enough to answer in CMP (badDataFormat); otherwise it is not CMP at all.
    try {
      const top = readTlv(der, 0);
      if (top.tag !== Tag.SEQUENCE) throw new Error('not a SEQUENCE');
      return { header: decodeHeader(der, readTlv(der, top.start)), error: (e as Error).message };
    } catch {
      throw new NotAPKIMessage((e as Error).message);
    }
  }
}

function checkHeader(msg: DecodedPKIMessage): void {
  const h = msg.header;
  if (h.pvno !== 2 && h.pvno !== 3) throw new CmpFailure('unsupportedVersion', `pvno ${h.pvno} is not supported (2 or 3)`);
  if (!h.transactionID || h.transactionID.length < 16 || h.transactionID.length > 64) throw new CmpFailure('badRequest', 'transactionID must be 16 to 64 octets');
  if (!h.senderNonce || h.senderNonce.length < 16 || h.senderNonce.length > 64) throw new CmpFailure('badSenderNonce', 'senderNonce must be 16 to 64 octets');
}

export class CmpService {
  readonly txs: Transactions;

  constructor(
    private readonly ctx: ProtocolContext,
    private readonly settings: CmpSettings,
    private readonly secrets: SecretStore,
  ) {
    this.txs = new Transactions(ctx);
  }

  /**
   * Answers one request body; throws NotAPKIMessage when it is not one. `via` is the RA whose
   * nested message carried this one.
   */
  async handle(der: Uint8Array, alias: string, via?: Sender): Promise<Buffer> {
    const decoded = decode(der);
    const nonce = newNonce();
    const msg = 'error' in decoded ? ({ header: decoded.header, body: { type: 'error', content: Buffer.alloc(0) }, protectedPart: Buffer.alloc(0) } as DecodedPKIMessage) : decoded;
    const ex: Exchange = {
      ctx: this.ctx,
      settings: this.settings,
      msg,
      alias,
      aliasSettings: aliasSettings(this.settings, alias),
      txid: msg.header.transactionID?.toString('hex') ?? '',
      nonce,
    };
    try {
      if ('error' in decoded) throw new CmpFailure('badDataFormat', `malformed PKIMessage: ${decoded.error}`, false);
      checkHeader(msg);
      ex.sender = await verifyProtection(msg, this.ctx, this.settings, this.secrets);
      if (ex.sender.kind === 'mac' && ex.sender.alias !== null && ex.sender.alias !== alias) {
        throw new CmpFailure('notAuthorized', `reference ${ex.sender.ref} may not use alias ${alias}`);
      }
      ex.ra = via ?? (authorisedRa(ex, ex.sender) ? ex.sender : undefined);
      if (via && msg.body.type === 'nested') throw new CmpFailure('badRequest', 'a nested message inside a nested message is refused');
      return await this.dispatch(ex);
    } catch (e) {
      if (isIssuanceError(e)) e = new CmpFailure(failInfoForError(e), e.message);
      if (e instanceof CmpFailure) {
        this.ctx.log.info({ alias, failInfo: e.failInfo, body: msg.body.type, tx: ex.txid }, `cmp: refused: ${e.message}`);
        return errorAnswer(ex, e);
      }
      this.ctx.log.error({ err: e, alias, body: msg.body.type, tx: ex.txid }, 'cmp: internal error');
      return errorAnswer(ex, new CmpFailure('systemFailure', 'internal error'));
    }
  }

  private async dispatch(ex: Exchange): Promise<Buffer> {
    const type = ex.msg.body.type;
    switch (type) {
      case 'ir':
      case 'cr':
      case 'kur':
      case 'p10cr':
        return enroll(ex, this.txs, type);
      case 'certConf':
        return confirm(ex, this.txs);
      case 'pollReq':
        return poll(ex, this.txs);
      case 'rr':
        return revoke(ex, this.txs);
      case 'genm':
        return general(ex, this.txs);
      case 'error':
        return this.clientError(ex);
      case 'nested':
        return nested(ex, (inner, ra) => this.handleInner(inner, ex.alias, ra));
      default:
        throw new CmpFailure('badRequest', `${type} messages are not accepted`);
    }
  }

  /** An inner message of a nested body; one that is not a PKIMessage refuses the whole batch. */
  private async handleInner(der: Buffer, alias: string, ra: Sender): Promise<Buffer> {
    try {
      return await this.handle(der, alias, ra);
    } catch (e) {
      if (e instanceof NotAPKIMessage) throw new CmpFailure('badDataFormat', `nested: an inner message is not a PKIMessage: ${e.message}`);
      throw e;
    }
  }

  /** The client aborts the transaction (RFC 9483 §3.6.4): a held certificate is revoked. */
  private async clientError(ex: Exchange): Promise<Buffer> {
    const tx = await this.txs.get(ex.txid);
    if (tx && tx.sender === senderId(ex.sender!)) {
      const moved = await this.txs.advance(ex.txid, 'waiting', tx.serverNonce, { state: 'rejected', serverNonce: ex.nonce.toString('hex') });
      if (moved) await this.ctx.revocation.revoke(tx.issuerId!, tx.serial!, UNCONFIRMED_REASON, `cmp:${tx.sender}`);
    }
    return answer(ex, pkiConfBody());
  }

  /** Revokes certificates whose certConf did not come in time (cessationOfOperation). */
  async sweep(): Promise<number> {
    const expired = await this.txs.takeExpired();
    for (const tx of expired) {
      if (tx.issuerId && tx.serial) await this.ctx.revocation.revoke(tx.issuerId, tx.serial, UNCONFIRMED_REASON, 'cmp:unconfirmed');
    }
    if (expired.length) this.ctx.log.info({ count: expired.length }, 'cmp: revoked certificates never confirmed');
    return expired.length;
  }
}
