import { sql } from 'drizzle-orm';
import { bytea } from './columns.ts';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export { bytea };

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Key/value settings shared by every instance on one database (e.g. the admin-token secret, sealed). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const issuers = pgTable(
  'issuers',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    parentId: text('parent_id'),
    certDer: bytea('cert_der').notNull(),
    subject: text('subject').notNull(),
    keyAlgorithm: text('key_algorithm').notNull(),
    /** Sealed PKCS#8 (AES-256-GCM under the key-encryption key); null when the key lives in an HSM. */
    privateKeySealed: bytea('private_key_sealed'),
    /** PKCS#11 URI when the key lives in an HSM. */
    keyRef: text('key_ref'),
    notBefore: ts('not_before').notNull(),
    notAfter: ts('not_after').notNull(),
    /** active: signs; retired: only CRLs/OCSP for what it issued. */
    status: text('status').notNull().default('active'),
    isDefault: boolean('is_default').notNull().default(false),
    /** Last CRL number handed out; incremented under a row lock so numbers are strictly increasing. */
    crlNumber: bigint('crl_number', { mode: 'number' }).notNull().default(0),
    /** Per-issuer CRL/OCSP settings (JSON): crl validity, delta CRLs, partitions, OCSP responder. */
    options: jsonb('options').notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('issuers_name_uq').on(t.name)],
);

export const profiles = pgTable('profiles', {
  name: text('name').primaryKey(),
  definition: jsonb('definition').notNull(),
  builtin: boolean('builtin').notNull().default(false),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const certificates = pgTable(
  'certificates',
  {
    id: text('id').primaryKey(),
    issuerId: text('issuer_id').notNull(),
    /** Lower-case hex of the DER INTEGER contents. */
    serial: text('serial').notNull(),
    der: bytea('der').notNull(),
    subject: text('subject').notNull(),
    /** Identifiers as `type:value` strings, for search. */
    sans: text('sans').array().notNull().default(sql`'{}'::text[]`),
    notBefore: ts('not_before').notNull(),
    notAfter: ts('not_after').notNull(),
    profile: text('profile').notNull(),
    /** valid | revoked | hold */
    status: text('status').notNull().default('valid'),
    revokedAt: ts('revoked_at'),
    revocationReason: integer('revocation_reason'),
    invalidityDate: ts('invalidity_date'),
    /** SHA-256 of the SubjectPublicKeyInfo, hex: duplicate-key rule and re-key checks. */
    spkiSha256: text('spki_sha256').notNull(),
    protocol: text('protocol').notNull(),
    principal: text('principal').notNull(),
    idempotencyKey: text('idempotency_key'),
    replacesId: text('replaces_id'),
    /** PKCS#8 of a key the server generated (emCA createPKCS12), sealed under the KEK; else null. */
    privateKeySealed: bytea('private_key_sealed'),
    /** CRL partition fixed at issuance (0 when the issuer is not partitioned). */
    crlPartition: integer('crl_partition').notNull().default(0),
    metadata: jsonb('metadata').notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('certificates_issuer_serial_uq').on(t.issuerId, t.serial),
    uniqueIndex('certificates_idempotency_uq').on(t.idempotencyKey),
    index('certificates_subject_idx').on(t.subject),
    index('certificates_not_after_idx').on(t.notAfter),
    index('certificates_spki_idx').on(t.spkiSha256),
    index('certificates_revoked_idx').on(t.issuerId, t.status),
    // CRL building reads revoked rows of an issuer in serial order, in keyset pages: an ordered scan of
    // only those rows, whatever their share of the table.
    index('certificates_crl_serial_idx').on(t.issuerId, t.serial).where(sql`${t.status} in ('revoked', 'hold')`),
    index('certificates_sans_idx').using('gin', t.sans),
  ],
);

/** Every revoke / suspend / reinstate, in order: the history delta CRLs and audits read. */
export const revocations = pgTable(
  'revocations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    certificateId: text('certificate_id').notNull(),
    issuerId: text('issuer_id').notNull(),
    serial: text('serial').notNull(),
    /** revoke | suspend | reinstate */
    action: text('action').notNull(),
    reason: integer('reason'),
    at: ts('at').notNull().defaultNow(),
    actor: text('actor').notNull(),
  },
  (t) => [index('revocations_issuer_at_idx').on(t.issuerId, t.at)],
);

export const pendingRequests = pgTable(
  'pending_requests',
  {
    id: text('id').primaryKey(),
    /** pending | issued | rejected */
    status: text('status').notNull().default('pending'),
    profile: text('profile').notNull(),
    protocol: text('protocol').notNull(),
    principal: text('principal').notNull(),
    subject: text('subject').notNull(),
    /** The EnrollmentRequest, binary fields in base64. */
    request: jsonb('request').notNull(),
    idempotencyKey: text('idempotency_key'),
    certificateId: text('certificate_id'),
    reason: text('reason'),
    decidedBy: text('decided_by'),
    decidedAt: ts('decided_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('pending_idempotency_uq').on(t.idempotencyKey), index('pending_status_idx').on(t.status)],
);

export const crls = pgTable(
  'crls',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    issuerId: text('issuer_id').notNull(),
    number: bigint('number', { mode: 'number' }).notNull(),
    /** For a delta CRL, the number of the base CRL it extends; null for a full CRL. */
    baseNumber: bigint('base_number', { mode: 'number' }),
    partition: integer('partition').notNull().default(0),
    thisUpdate: ts('this_update').notNull(),
    nextUpdate: ts('next_update').notNull(),
    entries: integer('entries').notNull(),
    /** The DER when `parts` is 0; empty when the CRL is stored in crl_parts (large CRLs). */
    der: bytea('der').notNull(),
    /** Number of crl_parts rows holding the DER in order (0: inline in `der`). */
    parts: integer('parts').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('crls_issuer_number_partition_uq').on(t.issuerId, t.number, t.partition),
    index('crls_latest_idx').on(t.issuerId, t.partition, t.number),
  ],
);

/**
 * A large CRL's DER in slices (64 KiB by default): each is written and read on its own, so neither side builds
 * one statement (or hex text) of the whole 50 MB a million-entry CRL takes.
 */
export const crlParts = pgTable(
  'crl_parts',
  {
    crlId: bigint('crl_id', { mode: 'number' })
      .notNull()
      .references(() => crls.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    bytes: bytea('bytes').notNull(),
  },
  (t) => [primaryKey({ columns: [t.crlId, t.seq] })],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    target: text('target'),
    outcome: text('outcome').notNull().default('success'),
    details: jsonb('details').notNull().default({}),
    requestId: text('request_id'),
  },
  (t) => [index('audit_at_idx').on(t.at), index('audit_action_idx').on(t.action)],
);

/** Operators (admin API users) and API clients; tokens name the principal and are refused once it is disabled. */
export const principals = pgTable('principals', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  /** operator | api-client | local */
  kind: text('kind').notNull(),
  /** administrator | officer | auditor */
  role: text('role').notNull(),
  disabled: boolean('disabled').notNull().default(false),
  /** Console password: `scrypt$N$r$p$salt$hash` (src/admin/passwords.ts), or null (token login only). */
  passwordHash: text('password_hash'),
  /** Failed password logins in a row, and the time before which another attempt is refused. */
  loginFailures: integer('login_failures').notNull().default(0),
  loginBlockedUntil: ts('login_blocked_until'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/**
 * Private keys of the software key store (src/ca/keystore.ts) other than issuers' (whose sealed key
 * stays in their row): PKCS#8 sealed under the KEK, the purpose bound to the key reference.
 */
export const sealedKeys = pgTable('sealed_keys', {
  keyRef: text('key_ref').primaryKey(),
  label: text('label').notNull(),
  keyAlgorithm: text('key_algorithm').notNull(),
  sealed: bytea('sealed').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/**
 * A protocol's own identity (SCEP RA, CMP signer, EST server): a key in the key store and a
 * certificate the core issued from a system profile. One row per (protocol, name); renewal
 * replaces the row's key and certificate.
 */
export const serviceIdentities = pgTable(
  'service_identities',
  {
    protocol: text('protocol').notNull(),
    name: text('name').notNull(),
    keyRef: text('key_ref').notNull(),
    certificateId: text('certificate_id').notNull(),
    issuerId: text('issuer_id').notNull(),
    certDer: bytea('cert_der').notNull(),
    notBefore: ts('not_before').notNull(),
    notAfter: ts('not_after').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('service_identities_uq').on(t.protocol, t.name)],
);
