import { boolean, customType, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBufferLike)),
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});

/**
 * Shared secrets for MAC protection (PasswordBasedMac, PBMAC1), one per reference (the senderKID
 * a client sends with `-ref`). The secret is sealed under the KEK (purpose `cmp:secret:<ref>`);
 * `alias` binds it to one CMP alias (null: any alias).
 */
export const cmpSecrets = pgTable('cmp_secrets', {
  ref: text('ref').primaryKey(),
  alias: text('alias'),
  secretSealed: bytea('secret_sealed').notNull(),
  disabled: boolean('disabled').notNull().default(false),
  createdBy: text('created_by').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/**
 * One row per CMP transaction (RFC 9810 §5.1.1 transactionID): a transactionID is used once, ever
 * (replay). `serverNonce` is the senderNonce of our last answer: the client's next message must
 * echo it as recipNonce. A certificate awaiting certConf (state `waiting`) is revoked when
 * `confirmBy` passes.
 */
export const cmpTransactions = pgTable(
  'cmp_transactions',
  {
    transactionId: text('transaction_id').primaryKey(),
    bodyType: text('body_type').notNull(),
    /** `ref:<ref>` (MAC) or `cert:<issuerId>:<serial>` (signature). */
    sender: text('sender').notNull(),
    alias: text('alias').notNull(),
    /** waiting (for certConf) | pending (manual approval) | confirmed | rejected | done | failed */
    state: text('state').notNull(),
    serverNonce: text('server_nonce').notNull(),
    certReqId: text('cert_req_id'),
    requestId: text('request_id'),
    issuerId: text('issuer_id'),
    serial: text('serial'),
    certDer: bytea('cert_der'),
    /** How the answer is protected: { kind: 'mac', ref, alg } or { kind: 'signature', issuerId }. */
    protection: jsonb('protection').notNull(),
    confirmBy: ts('confirm_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('cmp_transactions_confirm_idx').on(t.state, t.confirmBy)],
);
