import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { bytea } from '../../src/db/columns.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * Delegated OCSP responder certificates (id-kp-OCSPSigning), one active per issuer. The
 * certificate is issued through the pipeline (profile `ocsp-signing`), so it is also a row of
 * `certificates`; its private key is in the key store (`key_ref`).
 */
export const ocspResponders = pgTable(
  'ocsp_responders',
  {
    id: text('id').primaryKey(),
    issuerId: text('issuer_id').notNull(),
    /** certificates.id and serial of the responder certificate. */
    certificateId: text('certificate_id').notNull(),
    serial: text('serial').notNull(),
    certDer: bytea('cert_der').notNull(),
    /** The responder's key in the key store (src/ca/keystore.ts, through ProtocolContext.keys). */
    keyRef: text('key_ref'),
    /** Before the key store: the PKCS#8 sealed here; moved into the key store on first use (then null). */
    keySealed: bytea('key_sealed'),
    keyAlgorithm: text('key_algorithm').notNull(),
    notBefore: ts('not_before').notNull(),
    notAfter: ts('not_after').notNull(),
    /** active: signs now; retired: replaced (still valid); revoked. */
    status: text('status').notNull().default('active'),
    createdBy: text('created_by').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('ocsp_responders_issuer_idx').on(t.issuerId, t.status)],
);

/** Per-issuer OCSP settings (JSON, see protocols/ocsp/settings.ts); absent row = server defaults. */
export const ocspIssuerSettings = pgTable('ocsp_issuer_settings', {
  issuerId: text('issuer_id').primaryKey(),
  settings: jsonb('settings').notNull().default({}),
  updatedBy: text('updated_by').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});
