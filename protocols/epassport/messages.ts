/**
 * The SPOC messages (TR-03129 §3, the emCA ePassport API): one transport-neutral function per
 * operation, used by the JSON and the SOAP endpoint alike. Synchronous unless the caller can take
 * a callback (callbackIndicator = callback_possible with a responseURL): then the syntax is
 * checked, `ok_syntax` returned, and the result POSTed later to responseURL as SendCertificates
 * with the same messageID. A repeated messageID of the same originator gets the stored result.
 */
import { and, desc, eq } from 'drizzle-orm';
import type { Authorities } from './authorities.ts';
import { SpocFailure, type ReturnCode, type SpocResult } from './codes.ts';
import { parseReference } from './cvc.ts';
import { forwardRequest } from './forward.ts';
import type { Issuer } from './issue.ts';
import { parseRequest } from './issue.ts';
import type { Registry } from './registry.ts';
import { epassportDsLists, epassportMessages } from './schema.ts';
import type { EpassportSettings } from './settings.ts';
import { holderOf, type CvStore } from './store.ts';

export interface MessageInput {
  callbackIndicator?: string;
  messageID?: string;
  responseURL?: string;
  certReq?: Buffer;
  foreignCAR?: string;
  /** SendCertificates. */
  statusInfo?: string;
  certificateSeq?: Buffer[];
}

export type Operation = 'RequestCertificate' | 'RequestForeignCertificate' | 'GetCACertificates' | 'SendCertificates' | 'GetDocumentSignerList';

export const operations: Operation[] = ['RequestCertificate', 'RequestForeignCertificate', 'GetCACertificates', 'SendCertificates', 'GetDocumentSignerList'];

/** What sends a result to a responseURL (JSON or SOAP, by the endpoint the request came in on). */
export type CallbackSender = (url: string, messageID: string | undefined, result: SpocResult) => Promise<void>;

export class Messages {
  constructor(
    private readonly s: CvStore,
    private readonly issuer: Issuer,
    private readonly authorities: Authorities,
    private readonly registry: Registry,
    private readonly settings: EpassportSettings,
  ) {}

  /** Runs an operation; never throws (an unexpected error is failure_internal_error, logged). */
  async handle(op: Operation, m: MessageInput, sendCallback: CallbackSender): Promise<SpocResult> {
    try {
      checkCallbackParams(op, m);
      switch (op) {
        case 'RequestCertificate':
        case 'RequestForeignCertificate':
          return await this.request(op, m, sendCallback);
        case 'GetCACertificates':
          return await this.deferrable(m, sendCallback, () => this.caCertificates());
        case 'SendCertificates':
          return await this.received(m);
        case 'GetDocumentSignerList':
          return await this.deferrable(m, sendCallback, () => this.documentSignerList());
      }
    } catch (e) {
      return failureResult(e, this.s);
    }
  }

  private async request(op: Operation, m: MessageInput, sendCallback: CallbackSender): Promise<SpocResult> {
    if (!m.certReq) throw new SpocFailure('failure_syntax', 'certReq is required');
    const req = parseRequest(m.certReq);
    if (op === 'RequestForeignCertificate') {
      if (!m.foreignCAR) throw new SpocFailure('failure_syntax', 'foreignCAR is required');
      try {
        parseReference(m.foreignCAR, 'foreignCAR');
      } catch {
        throw new SpocFailure('failure_syntax', 'foreignCAR is not a certification authority reference');
      }
      if (req.inner.body.car && req.inner.body.car !== m.foreignCAR) throw new SpocFailure('failure_syntax', "foreignCAR differs from the request's CAR");
    }
    const originator = req.inner.body.chr;
    if (m.messageID) {
      const prior = await this.prior(originator, m.messageID);
      if (prior) return prior;
    }
    const run = async (): Promise<SpocResult> => {
      const r = op === 'RequestForeignCertificate' ? await this.forward(req.inner.body.chr, m) : await this.issue(m.certReq!, originator);
      await this.record(op, originator, m, r);
      return r;
    };
    if (m.callbackIndicator === 'callback_possible') {
      this.later(run, m, sendCallback);
      return { returnCode: 'ok_syntax' };
    }
    return run();
  }

  private async issue(der: Buffer, originator: string): Promise<SpocResult> {
    try {
      const row = await this.issuer.process(parseRequest(der), `epassport:${originator}`);
      return { returnCode: 'ok_cert_available', certificates: [Buffer.from(row.der)] };
    } catch (e) {
      return failureResult(e, this.s);
    }
  }

  /**
   * RequestForeignCertificate at the national SPOC: the DV must be a registered domestic DV whose
   * request carries a valid outer signature by its current certificate (the national checks); then
   * the request goes to the foreign SPOC of foreignCAR's country.
   */
  private async forward(chr: string, m: MessageInput): Promise<SpocResult> {
    const holder = await this.registry.holder(holderOf(chr));
    if (holder?.role !== 'dv_domestic') throw new SpocFailure('failure_request_not_accepted', `${holderOf(chr)} is not a registered domestic DV`);
    const req = parseRequest(m.certReq!);
    if (!req.outer) throw new SpocFailure('failure_outer_signature', 'a request for a foreign certificate needs the outer signature of the DV');
    await this.issuer.verifyOuter(req, holder.holder);
    const url = this.settings.foreignSpocs[m.foreignCAR!.slice(0, 2)];
    if (!url) throw new SpocFailure('failure_request_not_accepted', `no SPOC configured for ${m.foreignCAR!.slice(0, 2)}`);
    const j = await forwardRequest(url, m.certReq!, m.messageID, this.settings.callbackTimeoutMs).catch((err: unknown) => {
      this.s.ctx.log.warn({ err: String(err), url }, 'epassport: foreign SPOC unreachable');
      throw new SpocFailure('failure_internal_error', 'the foreign SPOC did not answer');
    });
    await this.s.ctx.audit.record({ actor: `epassport:${chr}`, action: 'epassport.request.forward', target: m.foreignCAR!, details: { returnCode: j.returnCode ?? null, spoc: url } });
    if (j.returnCode === 'ok_cert_available' && j.certificates?.length) return { returnCode: 'ok_cert_available', certificates: j.certificates };
    if (j.returnCode?.startsWith('ok_')) return { returnCode: 'ok_request_forwarded' };
    return { returnCode: j.returnCode ?? 'failure_internal_error', message: 'the foreign SPOC refused the request' };
  }

  private async deferrable(m: MessageInput, sendCallback: CallbackSender, fn: () => Promise<SpocResult>): Promise<SpocResult> {
    if (m.callbackIndicator !== 'callback_possible') return fn();
    this.later(fn, m, sendCallback);
    return { returnCode: 'ok_syntax' };
  }

  private async caCertificates(): Promise<SpocResult> {
    const rows = await this.s.validOwn();
    return { returnCode: 'ok_cert_available', certificates: rows.map((r) => Buffer.from(r.der)) };
  }

  private async documentSignerList(): Promise<SpocResult> {
    const [row] = await this.s.db.select().from(epassportDsLists).orderBy(desc(epassportDsLists.createdAt)).limit(1);
    if (!row) return { returnCode: 'failure_list_not_available' };
    return { returnCode: 'ok_list_available', documentSignerList: Buffer.from(row.der) };
  }

  /**
   * SendCertificates received: certificates announced by another CVCA (no messageID) or answering
   * a message Certgate sent. Each certificate is imported only if its chain verifies.
   */
  private async received(m: MessageInput): Promise<SpocResult> {
    if (m.messageID) {
      const [sent] = await this.s.db.select().from(epassportMessages).where(and(eq(epassportMessages.messageId, m.messageID), eq(epassportMessages.originator, 'certgate')));
      if (!sent) return { returnCode: 'failure_messageID_unknown' };
    }
    for (const der of m.certificateSeq ?? []) {
      try {
        await this.authorities.importCertificate(der, 'epassport:SendCertificates');
      } catch (e) {
        throw new SpocFailure('failure_syntax', `a certificate was refused: ${e instanceof Error ? e.message : 'invalid'}`);
      }
    }
    return { returnCode: 'ok_received_correctly' };
  }

  private async prior(originator: string, messageID: string): Promise<SpocResult | undefined> {
    const [row] = await this.s.db.select().from(epassportMessages).where(and(eq(epassportMessages.originator, originator), eq(epassportMessages.messageId, messageID)));
    if (!row?.returnCode) return undefined;
    const cert = row.certificateId ? await this.s.byId(row.certificateId) : undefined;
    return { returnCode: row.returnCode as ReturnCode, certificates: cert ? [Buffer.from(cert.der)] : undefined };
  }

  private async record(op: Operation, originator: string, m: MessageInput, r: SpocResult): Promise<void> {
    const issued = r.certificates?.[0] ? (await this.s.byChr(originator)).find((c) => Buffer.from(c.der).equals(r.certificates![0])) : undefined;
    await this.s.db
      .insert(epassportMessages)
      .values({ operation: op, messageId: m.messageID ?? null, originator, responseUrl: m.responseURL ?? null, status: 'done', returnCode: r.returnCode, requestDer: m.certReq ?? null, certificateId: issued?.id ?? null })
      .onConflictDoNothing();
  }

  /** Runs `fn` after the answer and POSTs its result to responseURL (SendCertificates). */
  private later(fn: () => Promise<SpocResult>, m: MessageInput, sendCallback: CallbackSender): void {
    setImmediate(() => {
      void fn()
        .catch((e: unknown) => failureResult(e, this.s))
        .then((r) => sendCallback(m.responseURL!, m.messageID, r))
        .catch((err: unknown) => this.s.ctx.log.warn({ err: String(err) }, 'epassport: callback to responseURL failed'));
    });
  }
}

/** callbackIndicator is mandatory (not for SendCertificates); responseURL goes with callback_possible only. */
function checkCallbackParams(op: Operation, m: MessageInput): void {
  if (m.messageID !== undefined && !/^[\x21-\x7e]{1,128}$/.test(m.messageID)) throw new SpocFailure('failure_syntax', 'messageID: 1-128 printable ASCII characters');
  if (op === 'SendCertificates') return;
  if (m.callbackIndicator !== 'callback_possible' && m.callbackIndicator !== 'callback_not_possible') throw new SpocFailure('failure_syntax', 'callbackIndicator: callback_possible or callback_not_possible');
  if (m.callbackIndicator === 'callback_possible') {
    if (!m.responseURL || !/^https?:\/\/[^\s]+$/.test(m.responseURL)) throw new SpocFailure('failure_syntax', 'responseURL (http or https) is required with callback_possible');
  } else if (m.responseURL !== undefined) throw new SpocFailure('failure_syntax', 'responseURL must be missing with callback_not_possible');
}

export function failureResult(e: unknown, s: CvStore): SpocResult {
  if (e instanceof SpocFailure) return { returnCode: e.code, message: e.message };
  s.ctx.log.error({ err: e }, 'epassport: message processing failed');
  return { returnCode: 'failure_internal_error', message: 'internal error' };
}
