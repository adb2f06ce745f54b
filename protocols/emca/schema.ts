/**
 * emCA protocol tables. The certificates themselves live in the core `certificates` table (written
 * only by the pipeline); these tables hold what the emCA adapter needs around them: registered
 * external applications, numeric profile ids, per-call transactions (artefact format, PFX password,
 * ownership of request ids) and the PFX files kept for getPKCS12.
 */
import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { bytea } from '../../src/db/columns.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Registered external applications ("API clients"). */
export const emcaClients = pgTable(
  'emca_clients',
  {
    id: text('id').primaryKey(),
    /** The emCA `userName`; also the client's name in the admin API and CLI. */
    userName: text('user_name').notNull(),
    /** `scrypt$N$r$p$salt$hash` (base64). */
    passwordHash: text('password_hash').notNull(),
    /** SHA-256 hex of the lower-case emKey. */
    emKeyHash: text('em_key_hash').notNull(),
    /** The AES-256 key sealed under the KEK (purpose `emca-aes:<id>`). */
    aesKeySealed: bytea('aes_key_sealed').notNull(),
    /** ECB | CBC | GCM (IV in front of the ciphertext for CBC and GCM). */
    aesMode: text('aes_mode').notNull().default('ECB'),
    /** IP addresses and CIDR ranges the client may call from. */
    allowedIps: text('allowed_ips').array().notNull().default(sql`'{}'::text[]`),
    /** Profiles the client may use; empty = every profile. */
    allowedProfiles: text('allowed_profiles').array().notNull().default(sql`'{}'::text[]`),
    /** The signing credential: the certificate (by issuer and serial) its CMS signatures must carry. */
    signingIssuerId: text('signing_issuer_id'),
    signingSerial: text('signing_serial'),
    signingCertificateId: text('signing_certificate_id'),
    /** Build PFX files with 3DES/SHA-1 instead of AES-256-CBC/PBKDF2 (old clients). */
    legacyPfx: boolean('legacy_pfx').notNull().default(false),
    /**
     * V5 management role (emCA's roles): `client` (certificate API only), `auditor` (reads CAs, CRL
     * and OCSP state), `officer` (CRL settings, OCSP responders), `administrator` (creates and imports CAs).
     */
    role: text('role').notNull().default('client'),
    disabled: boolean('disabled').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('emca_clients_user_name_uq').on(t.userName)],
);

/** Stable numeric ids for profiles (emCA's `ProfileID`), handed out on first sight. */
export const emcaProfileIds = pgTable('emca_profile_ids', {
  id: serial('id').primaryKey(),
  profile: text('profile').notNull().unique(),
});

/**
 * One row per issuance call that produced a pending request or needs context later: which client,
 * the applicationId (+ batch item), the artefact format, the sealed PFX password, the request id.
 */
export const emcaTransactions = pgTable(
  'emca_transactions',
  {
    id: text('id').primaryKey(),
    clientId: text('client_id').notNull(),
    applicationId: text('application_id').notNull(),
    /** Batch item id (createX509CertificatesByIdWithMultipleCsrData), '' otherwise. */
    itemId: text('item_id').notNull().default(''),
    /** cer | p7b | pfx | multi */
    format: text('format').notNull(),
    /** Pipeline request id while held for manual authorization. */
    requestId: text('request_id'),
    subscriberId: text('subscriber_id'),
    /** PFX password sealed under the KEK (purpose `emca-pfx-password:<id>`), for createPKCS12 calls. */
    pfxPasswordSealed: bytea('pfx_password_sealed'),
    /** Serial of the certificate a rekey replaces (revoked as superseded once the new one is delivered). */
    replacesSerial: text('replaces_serial'),
    replacesIssuerId: text('replaces_issuer_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('emca_tx_app_uq').on(t.clientId, t.applicationId, t.itemId),
    index('emca_tx_request_idx').on(t.requestId),
  ],
);

/** PFX files produced by createPKCS12(ById), sealed, so getPKCS12 can deliver them again. */
export const emcaPfx = pgTable(
  'emca_pfx',
  {
    certificateId: text('certificate_id').primaryKey(),
    clientId: text('client_id').notNull(),
    issuerId: text('issuer_id').notNull(),
    serial: text('serial').notNull(),
    /** Sealed (purpose `emca-pfx:<certificateId>`). */
    pfxSealed: bytea('pfx_sealed').notNull(),
    /** Sealed (purpose `emca-pfx-pin:<certificateId>`). */
    passwordSealed: bytea('password_sealed').notNull(),
    /** aes | legacy */
    encryption: text('encryption').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('emca_pfx_serial_idx').on(t.serial)],
);

/** V5 `X-Nonce` values seen recently (replay guard, shared by every instance). */
export const emcaNonces = pgTable('emca_nonces', {
  nonce: text('nonce').primaryKey(),
  expiresAt: ts('expires_at').notNull(),
});

export type EmcaClientRow = typeof emcaClients.$inferSelect;
export type EmcaTransactionRow = typeof emcaTransactions.$inferSelect;

export * from './esign/schema.ts';
