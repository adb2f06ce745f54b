/**
 * emCA eSign and key-recovery tables (re-exported by protocols/emca/schema.ts, so drizzle-kit
 * sees them): signers with a server-held key, signing requests waiting for the signer's one-time
 * code, and officer-approved key recoveries of kept PKCS#12 files.
 */
import { index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { bytea } from '../../../src/db/columns.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** A signer registered by an application: its key stays in the key store; its certificate is from an eSign profile. */
export const emcaEsignSigners = pgTable(
  'emca_esign_signers',
  {
    id: text('id').primaryKey(),
    clientId: text('client_id').notNull(),
    /** The application's unique id for the signer (emCA: "user registration … based on unique IDs"). */
    signerId: text('signer_id').notNull(),
    /** The key in the key store (ctx.keys.open). */
    keyRef: text('key_ref').notNull(),
    certificateId: text('certificate_id').notNull(),
    issuerId: text('issuer_id').notNull(),
    serial: text('serial').notNull(),
    disabled: integer('disabled').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('emca_esign_signers_client_signer_uq').on(t.clientId, t.signerId)],
);

/** One signing request: what to sign, the one-time code (as an HMAC), its expiry and attempts. */
export const emcaEsignRequests = pgTable(
  'emca_esign_requests',
  {
    id: text('id').primaryKey(),
    clientId: text('client_id').notNull(),
    signerRow: text('signer_row').notNull(),
    /** hash | pdf */
    kind: text('kind').notNull(),
    /** sha256 | sha384 | sha512 */
    hashAlgorithm: text('hash_algorithm').notNull(),
    /** The document hash (kind hash) or the hash of the PDF as submitted (kind pdf). */
    digest: bytea('digest').notNull(),
    /** The PDF as submitted (kind pdf), signed once the code is confirmed. */
    document: bytea('document'),
    /** HMAC-SHA256 of the code under a key derived from the KEK. */
    codeMac: bytea('code_mac').notNull(),
    /** The code sealed for the operator channel until an operator reads it once; null afterwards. */
    codeSealed: bytea('code_sealed'),
    attempts: integer('attempts').notNull().default(0),
    /** pending | signed | locked */
    status: text('status').notNull().default('pending'),
    expiresAt: ts('expires_at').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    signedAt: ts('signed_at'),
  },
  (t) => [index('emca_esign_requests_client_idx').on(t.clientId, t.createdAt)],
);

/** Key recovery of a kept PKCS#12: requested by one operator, approved by another. */
export const emcaKeyRecoveries = pgTable(
  'emca_key_recoveries',
  {
    id: text('id').primaryKey(),
    certificateId: text('certificate_id').notNull(),
    issuerId: text('issuer_id').notNull(),
    serial: text('serial').notNull(),
    reason: text('reason').notNull(),
    /** The new PFX password, sealed; null = re-issue under the password it had ("with old password"). */
    newPasswordSealed: bytea('new_password_sealed'),
    requestedBy: text('requested_by').notNull(),
    /** pending | approved | rejected */
    status: text('status').notNull().default('pending'),
    decidedBy: text('decided_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    decidedAt: ts('decided_at'),
  },
  (t) => [index('emca_key_recoveries_status_idx').on(t.status, t.createdAt)],
);

export type EmcaEsignSignerRow = typeof emcaEsignSigners.$inferSelect;
export type EmcaEsignRequestRow = typeof emcaEsignRequests.$inferSelect;
export type EmcaKeyRecoveryRow = typeof emcaKeyRecoveries.$inferSelect;
