/**
 * SCEP's own tables: transactions (RFC 8894 §3.2.1.1: the transactionID names one enrolment, and
 * is the idempotency key) and one-time challenge passwords (stored as SHA-256, never in the clear).
 */
import { customType, index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBufferLike)),
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const scepTransactions = pgTable(
  'scep_transactions',
  {
    label: text('label').notNull(),
    transactionId: text('transaction_id').notNull(),
    /** SHA-256 of the requested SubjectPublicKeyInfo: a second key under one transaction is refused. */
    spkiSha256: bytea('spki_sha256').notNull(),
    /** SHA-256 of the request signer's SubjectPublicKeyInfo (the old key of a RenewalReq): may poll too. */
    signerSpkiSha256: bytea('signer_spki_sha256').notNull(),
    /** PKCSReq or RenewalReq (message type number as text). */
    messageType: text('message_type').notNull(),
    /** pending | issued | rejected */
    status: text('status').notNull(),
    /** The pipeline's held request (manual approval), polled by CertPoll. */
    requestId: text('request_id'),
    certificateId: text('certificate_id'),
    /** DER of the request's subject, for CertPoll's IssuerAndSubject. */
    subjectDer: bytea('subject_der').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.label, t.transactionId] })],
);

export const scepChallenges = pgTable(
  'scep_challenges',
  {
    /** SHA-256 of the challenge password. */
    hash: bytea('hash').primaryKey(),
    label: text('label').notNull(),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
    createdBy: text('created_by').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('scep_challenges_expires_idx').on(t.expiresAt)],
);
