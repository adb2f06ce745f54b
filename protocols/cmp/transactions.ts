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
export class Transactions {
  constructor(private readonly ctx: ProtocolContext) {}

  /** Claims a transactionID for a new transaction; throws transactionIdInUse when it was ever used. */
  async claim(row: { transactionId: string; bodyType: string; sender: string; alias: string; state: TxState; serverNonce: string; certReqId?: string; protection: TxProtection }): Promise<void> {
    const rows = await this.ctx.store.db.insert(cmpTransactions).values(row).onConflictDoNothing().returning({ id: cmpTransactions.transactionId });
    if (rows.length === 0) throw new CmpFailure('transactionIdInUse', 'transactionID already used');
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
