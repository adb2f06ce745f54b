import { and, eq, lt } from 'drizzle-orm';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { CmpFailure } from './failures.ts';
import { cmpTransactions } from './schema.ts';
import type { ResponseProtection } from './protection.ts';

export type TxRow = typeof cmpTransactions.$inferSelect;
export type TxState = 'issuing' | 'waiting' | 'pending' | 'confirmed' | 'rejected' | 'done' | 'failed' | 'expired';

/** What a transaction remembers about how to answer it. */
export interface TxProtection {
  how: ResponseProtection;
  /** The client asked for implicitConfirm and the alias allows it. */
  implicit: boolean;
  /** ip, cp or kup: the body type of the certificate answer. */
  answer: 'ip' | 'cp' | 'kup';
}

/**
 * CMP transactions (RFC 9810 §5.1.1, §5.3.18): a transactionID starts one transaction, once —
 * a replayed first message is refused with transactionIdInUse — and each later message must
 * carry our last senderNonce as its recipNonce.
 */
export type NewTx = { transactionId: string; bodyType: string; sender: string; alias: string; state: TxState; serverNonce: string; certReqId?: string; protection: TxProtection };

export class Transactions {
  private readonly claims: ClaimBatcher;

  constructor(private readonly ctx: ProtocolContext) {
    this.claims = new ClaimBatcher(ctx);
  }

  /** Claims a transactionID for a new transaction; throws transactionIdInUse when it was ever used. */
  async claim(row: NewTx): Promise<void> {
    if (!(await this.claims.claim(row))) throw new CmpFailure('transactionIdInUse', 'transactionID already used');
  }

  /** Claims a transactionID if it is free; false when it was used. */
  tryClaim(row: NewTx): Promise<boolean> {
    return this.claims.claim(row);
  }

  async get(transactionId: string): Promise<TxRow | undefined> {
    const [row] = await this.ctx.store.db.select().from(cmpTransactions).where(eq(cmpTransactions.transactionId, transactionId)).limit(1);
    return row;
  }

  /**
   * Moves a transaction on, only from `from` with the nonce the client echoed (one winner under
   * concurrency and replay); returns the updated row or undefined when it was not in that state.
   */
  async advance(transactionId: string, from: TxState, fromNonce: string, set: Partial<TxRow>): Promise<TxRow | undefined> {
    const [row] = await this.ctx.store.db
      .update(cmpTransactions)
      .set({ ...set, updatedAt: new Date() })
      .where(and(eq(cmpTransactions.transactionId, transactionId), eq(cmpTransactions.state, from), eq(cmpTransactions.serverNonce, fromNonce)))
      .returning();
    return row;
  }

  async set(transactionId: string, set: Partial<TxRow>): Promise<void> {
    await this.ctx.store.db.update(cmpTransactions).set({ ...set, updatedAt: new Date() }).where(eq(cmpTransactions.transactionId, transactionId));
  }

  /** Certificates whose certConf never came: marked expired (one winner) and returned for revocation. */
  async takeExpired(now = new Date()): Promise<TxRow[]> {
    return this.ctx.store.db
      .update(cmpTransactions)
      .set({ state: 'expired', updatedAt: now })
      .where(and(eq(cmpTransactions.state, 'waiting'), lt(cmpTransactions.confirmBy, now)))
      .returning();
  }
}

/**
 * The transaction row of an implicitly confirmed enrolment, carried in its certificate's metadata
 * (`metadata.cmp.claim`): the fields the certificate row does not already hold.
 */
export function claimOf(row: NewTx): Record<string, unknown> {
  return { sender: row.sender, serverNonce: row.serverNonce, certReqId: row.certReqId ?? null, protection: row.protection };
}

/**
 * The persist hook (SQL, in the certificate's own INSERT statement) that writes the transaction row
 * of an implicitly confirmed enrolment, confirmed, with the certificate's issuer and serial: one
 * statement per batch of certificates instead of a claim statement of its own (on PostgreSQL that
 * statement was ~150 µs of database CPU per transaction). A transactionID used before is refused
 * by the certificate's idempotency key (the transactionID), which keeps the certificate out:
 * the pipeline then returns the stored result as a replay, and enroll() answers transactionIdInUse.
 * Not caught: a transactionID used before only by a message that issued nothing (genm, rr); the
 * certificate is issued and that earlier row is left as it was.
 */
export function claimOnPersist(rows: string): string {
  return `insert into cmp_transactions (transaction_id, body_type, sender, alias, state, server_nonce, cert_req_id, protection, issuer_id, serial)
    select r.metadata->'cmp'->>'transactionId', r.metadata->'cmp'->>'body', r.metadata->'cmp'->'claim'->>'sender',
      r.metadata->'cmp'->>'alias', 'confirmed', r.metadata->'cmp'->'claim'->>'serverNonce', r.metadata->'cmp'->'claim'->>'certReqId',
      r.metadata->'cmp'->'claim'->'protection', r.issuer_id, r.serial
    from ${rows} r
    where r.metadata->'cmp'->'claim' is not null
    on conflict do nothing`;
}

/**
 * The claims of a batch in one statement whose text is the same whatever the batch size (the rows
 * travel as one JSON parameter): prepared once per connection, never rebuilt by the query builder
 * (that building was a visible share of a MAC-protected ir's CPU).
 */
const INSERT_CLAIMS = `
  insert into cmp_transactions (transaction_id, body_type, sender, alias, state, server_nonce, cert_req_id, protection)
  select transaction_id, body_type, sender, alias, state, server_nonce, cert_req_id, protection
  from jsonb_to_recordset($1::jsonb) as r(transaction_id text, body_type text, sender text, alias text, state text,
    server_nonce text, cert_req_id text, protection jsonb)
  on conflict do nothing
  returning transaction_id as id`;

function claimsJson(rows: NewTx[]): string {
  return JSON.stringify(
    rows.map((r) => ({
      transaction_id: r.transactionId,
      body_type: r.bodyType,
      sender: r.sender,
      alias: r.alias,
      state: r.state,
      server_nonce: r.serverNonce,
      cert_req_id: r.certReqId ?? null,
      protection: r.protection,
    })),
  );
}

/**
 * Group commit for transaction claims: concurrent first messages are inserted by one multi-row
 * INSERT … ON CONFLICT DO NOTHING, one commit for the lot instead of one each (on PGlite a commit
 * is most of a claim's cost). Each caller learns from RETURNING whether its own row went in; two
 * claims of one transactionID in the same batch: the first wins, the second is refused at once.
 * One batch in flight; what arrives meanwhile waits for the next.
 */
class ClaimBatcher {
  private queue: { row: NewTx; resolve: (won: boolean) => void; reject: (e: unknown) => void }[] = [];
  private busy = false;

  constructor(private readonly ctx: ProtocolContext) {}

  claim(row: NewTx): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.busy) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.busy = true;
    while (this.queue.length) {
      const batch = this.queue.splice(0, 256);
      const first = new Map<string, (typeof batch)[number]>();
      for (const item of batch) {
        if (first.has(item.row.transactionId)) item.resolve(false);
        else first.set(item.row.transactionId, item);
      }
      try {
        const rows = await this.ctx.store.query<{ id: string }>(INSERT_CLAIMS, [claimsJson([...first.values()].map((x) => x.row))]);
        const won = new Set(rows.map((r) => r.id));
        for (const [id, item] of first) item.resolve(won.has(id));
      } catch (e) {
        for (const item of first.values()) item.reject(e);
      }
    }
    this.busy = false;
  }
}
