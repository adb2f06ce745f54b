/**
 * Finalization (RFC 8555 §7.4): the CSR must name exactly the order's identifiers and must not
 * use the account key; the order turns `processing` and the certificate is issued in the
 * background through the pipeline (principal = the account, authorizedIdentifiers = the order's
 * validated identifiers, idempotency key = the order id, so a retry never issues twice).
 */
import type { KeyObject } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { isIssuanceError } from '../../src/issuance/errors.ts';
import type { EnrollmentRequest, Identifier } from '../../src/issuance/request.ts';
import { parseCsr, type ParsedCsr } from '../../src/pki/csr.ts';
import { ipFromBytes, ipToBytes } from '../../src/pki/extensions.ts';
import { isIP } from 'node:net';
import { parseCertId } from './ari.ts';
import { effectiveOrderStatus, orderFromJson, type OrderRow } from './orders.ts';
import { fromIssuanceError, problem, problemUrn, type ProblemJson } from './problems.ts';
import { acmeOrders } from './schema.ts';
import { waitAtMost } from './wait.ts';

const key = (i: Identifier) => `${i.type}:${i.value}`;

export function normalise(i: Identifier): string {
  if (i.type === 'ip') {
    try {
      return `ip:${ipFromBytes(ipToBytes(i.value))}`;
    } catch {
      return `ip:${i.value}`;
    }
  }
  return `${i.type}:${i.value.toLowerCase()}`;
}

/** SPKI of each (cached, per account) account key: exporting one costs ~100 µs in OpenSSL 3. */
const accountSpkis = new WeakMap<KeyObject, Buffer>();
function spkiOf(key: KeyObject): Buffer {
  let der = accountSpkis.get(key);
  if (!der) accountSpkis.set(key, (der = key.export({ type: 'spki', format: 'der' })));
  return der;
}

/** Checks a CSR against the order and the account (§7.4, §11.1). Returns the parsed CSR. */
export function checkCsr(csrDer: Buffer, order: OrderRow, accountKey: KeyObject): ParsedCsr {
  let csr: ParsedCsr;
  try {
    csr = parseCsr(csrDer);
  } catch (e) {
    throw problem('badCSR', isIssuanceError(e) ? e.message : 'the CSR is not a valid PKCS#10 request');
  }
  if (!csr.signatureValid) throw problem('badCSR', 'the CSR signature does not verify');
  if (spkiOf(accountKey).equals(csr.spki)) throw problem('badCSR', 'the CSR must not use the account key (RFC 8555 §11.1)');
  const wanted = new Set((order.identifiers as Identifier[]).map(normalise));
  const named = new Set<string>();
  for (const s of csr.sans) {
    if (s.type !== 'dns' && s.type !== 'ip') throw problem('badCSR', `the CSR asks for a ${s.type} name; ACME certifies DNS names and IP addresses only`);
    named.add(normalise(s));
  }
  const cn = csr.subject.find((a) => a.type === 'CN' || a.type === '2.5.4.3');
  if (cn) {
    const asId: Identifier = isIP(cn.value) ? { type: 'ip', value: cn.value } : { type: 'dns', value: cn.value };
    if (!wanted.has(normalise(asId))) throw problem('badCSR', `the CSR common name "${cn.value.slice(0, 100)}" is not an identifier of the order`);
    named.add(normalise(asId));
  }
  const extra = [...named].filter((n) => !wanted.has(n));
  const missing = [...wanted].filter((n) => !named.has(n));
  if (extra.length || missing.length) {
    const parts = [];
    if (extra.length) parts.push(`names not in the order: ${extra.join(', ')}`);
    if (missing.length) parts.push(`order identifiers missing from the CSR: ${missing.join(', ')}`);
    throw problem('badCSR', `the CSR must name exactly the order's identifiers (${parts.join('; ')})`);
  }
  return csr;
}

// Constant statement texts (prepared once per connection; hot path, no query builder).
const ORDER_COLUMNS = 'id, account_id, status, expires, identifiers, authz_ids, not_before, not_after, profile, certgate_profile, replaces, error, certificate_id, processing_since, created_at';
const MARK_PROCESSING = `update acme_orders set status = 'processing', csr = $2::bytea, processing_since = now() where id = $1::text and status = 'ready' returning ${ORDER_COLUMNS}`;
const READ = `select ${ORDER_COLUMNS} from acme_orders where id = $1::text`;
// A finalized order goes ready → valid/invalid directly when issuance is quick (never stored as
// processing), or through processing when it is not (see IssuanceRunner.start).
const FAIL = `update acme_orders set status = 'invalid', error = $2::jsonb, csr = null where id = $1::text and status in ('ready', 'processing') returning id`;
const DONE = `update acme_orders set status = 'valid', certificate_id = $2::text, csr = null, error = null where id = $1::text and status in ('ready', 'processing') returning id`;

/**
 * The pipeline onPersist hook (SQL form, composed into the certificate INSERT): an order turns
 * valid in the statement that stores its certificate (ACME enrollments carry the order id in
 * metadata.acmeOrder) — no moment in which the certificate exists while its order still says ready
 * or processing, and no statement of its own. A certificate issued later (held for approval)
 * completes its order the same way. Only the order's own account's certificate completes it.
 */
export const orderIssuedHook = (rows: string) =>
  `update acme_orders o set status = 'valid', certificate_id = r.id, csr = null, error = null
   from ${rows} r
   where o.id = r.metadata ->> 'acmeOrder' and o.status in ('ready', 'processing')
     and r.principal = 'acme:account:' || o.account_id`;

/** What issuance changed on the order, as stored (undefined: still processing, or changed elsewhere). */
export type Outcome = Pick<OrderRow, 'status' | 'certificateId' | 'error'> | undefined;

/** What a certificate download needs; a stored certificate never changes, so it can be kept. */
export interface IssuedRef {
  der: Buffer;
  issuerId: string;
  principal: string;
}

export class IssuanceRunner {
  private readonly inFlight = new Map<string, Promise<Outcome>>();
  /**
   * Certificates this instance issued, by id (bounded): their download — usually the next request —
   * needs no database read (perf: on PGlite each read is ~1 ms of in-process CPU).
   */
  readonly issued = new Map<string, IssuedRef>();

  constructor(
    private readonly ctx: ProtocolContext,
    private readonly log: Logger,
  ) {}

  /**
   * Finalizes a ready order whose CSR was checked: issuance starts at once (one per order in this
   * process; across instances the order id is the pipeline's idempotency key, so a race yields one
   * certificate). When it is done within `waitMs` the answer is the order with its outcome and the
   * order was never stored as processing (one statement fewer); otherwise the order is marked
   * processing with its CSR — so every instance shows it running and a restart can resume it — and
   * returned as stored. Undefined when the order was no longer ready.
   */
  async finalize(order: OrderRow, csrDer: Buffer, csr: ParsedCsr, waitMs: number): Promise<OrderRow | undefined> {
    const outcome = await waitAtMost(this.run({ ...order, csr: csrDer }, csr), waitMs);
    if (outcome) return { ...order, ...outcome };
    const [row] = await this.ctx.store.query<Record<string, unknown>>(MARK_PROCESSING, [order.id, csrDer]);
    if (row) return orderFromJson(row);
    // Finished (or changed elsewhere) in between: the order as it is now.
    const [now] = await this.ctx.store.query<Record<string, unknown>>(READ, [order.id]);
    return now && now.status !== 'ready' ? orderFromJson(now) : undefined;
  }

  run(order: OrderRow, csr?: ParsedCsr): Promise<Outcome> {
    const running = this.inFlight.get(order.id);
    if (running) return running;
    const p = this.issue(order, csr)
      .catch((err) => {
        this.log.error({ err, order: order.id }, 'acme issuance crashed');
        return undefined;
      })
      .finally(() => this.inFlight.delete(order.id));
    this.inFlight.set(order.id, p);
    return p;
  }

  /** Waits (at most `maxMs`) for this order's issuance if it runs in this process. */
  async settle(orderId: string, maxMs: number): Promise<void> {
    await waitAtMost(this.inFlight.get(orderId), maxMs);
  }

  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Picks up orders left processing by a crashed or stopped instance. */
  async recover(olderThanSeconds: number): Promise<number> {
    const stale = await this.ctx.store.db
      .select()
      .from(acmeOrders)
      .where(and(eq(acmeOrders.status, 'processing'), lt(acmeOrders.processingSince, new Date(Date.now() - olderThanSeconds * 1000))))
      .limit(100);
    for (const o of stale) if (!this.inFlight.has(o.id)) void this.run(o);
    return stale.length;
  }

  private async fail(order: OrderRow, error: ProblemJson): Promise<Outcome> {
    const rows = await this.ctx.store.query(FAIL, [order.id, JSON.stringify(error)]);
    return rows.length ? { status: 'invalid', certificateId: null, error } : undefined;
  }

  private async issue(order: OrderRow, checked?: ParsedCsr): Promise<Outcome> {
    if (!order.csr) return this.fail(order, { type: problemUrn('serverInternal'), detail: 'the order lost its CSR', status: 500 });
    // The CSR was checked at finalize (signature = proof of possession, names = the order's);
    // after a restart it is parsed and checked again here.
    let csr = checked;
    if (!csr) {
      try {
        csr = parseCsr(order.csr);
      } catch {
        csr = undefined;
      }
      if (!csr?.signatureValid) return this.fail(order, { type: problemUrn('badCSR'), detail: 'the CSR does not verify', status: 400 });
    }
    const identifiers = order.identifiers as Identifier[];
    const req: EnrollmentRequest = {
      principal: {
        id: `acme:account:${order.accountId}`,
        protocol: 'acme',
        authenticatedBy: 'acme-jws',
        authorizedIdentifiers: identifiers,
      },
      profile: order.certgateProfile,
      key: { kind: 'spki', der: csr.spki, pop: 'verified-by-protocol', keyInfo: csr.key },
      subject: csr.subject,
      sans: identifiers,
      idempotencyKey: order.id,
      // Checked at finalize = a first attempt as far as this order's state says (it was ready): a
      // race with another instance or a retry after a crash ends at the idempotency key's unique
      // index, and the stored certificate is the result. A recovered order is asked again.
      idempotencyKeyUnused: !!checked,
      metadata: { acmeOrder: order.id, acmeAccount: order.accountId, ...(order.replaces ? { replaces: order.replaces } : {}) },
    };
    if (order.notBefore || order.notAfter) req.validity = { notBefore: order.notBefore ?? undefined, notAfter: order.notAfter ?? undefined };
    if (order.replaces) {
      const ref = parseCertId(order.replaces);
      if (ref) {
        const [old] = await this.ctx.certificates.bySerialAnyIssuer(ref.serial);
        if (old && old.status === 'valid') req.replaces = { serial: old.serial, issuerId: old.issuerId, mode: 'renew' };
      }
    }
    try {
      const result = await this.ctx.pipeline.issue(req);
      if (result.status === 'issued') {
        if (this.issued.size >= 10_000) this.issued.clear();
        this.issued.set(result.certificate.id, { der: Buffer.from(result.certificate.der), issuerId: result.certificate.issuerId, principal: req.principal.id });
        // A fresh certificate completed its order in the statement that stored it (orderIssuedHook).
        // One found by the idempotency key may predate that.
        if (!result.replayed) return { status: 'valid', certificateId: result.certificate.id, error: null };
        const rows = await this.ctx.store.query(DONE, [order.id, result.certificate.id]);
        if (rows.length) return { status: 'valid', certificateId: result.certificate.id, error: null };
        const [now] = await this.ctx.store.query<Record<string, unknown>>(READ, [order.id]);
        return now?.status === 'valid' && now.certificate_id === result.certificate.id ? { status: 'valid', certificateId: result.certificate.id, error: null } : undefined;
      }
      if (result.status === 'rejected') {
        return this.fail(order, { type: problemUrn('unauthorized'), detail: `the request was rejected: ${result.reason}`, status: 403 });
      }
      // pending (manual approval): stays processing; recover() asks the pipeline again later.
      return undefined;
    } catch (e) {
      if (isIssuanceError(e)) {
        const p = fromIssuanceError(e);
        this.log.info({ order: order.id, code: e.code, rule: e.rule }, 'acme issuance refused');
        return this.fail(order, p.toJSON());
      }
      this.log.error({ err: e, order: order.id }, 'acme issuance failed');
      return this.fail(order, { type: problemUrn('serverInternal'), detail: 'issuance failed; create a new order', status: 500 });
    }
  }
}

export { effectiveOrderStatus, key as identifierKey };
