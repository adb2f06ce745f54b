/**
 * ACME's own tables (RFC 8555 §7.1 resources). Identifiers of accounts, orders, authorizations
 * and challenges are random base64url strings: they appear in URLs and reveal nothing.
 */
import { bigint, boolean, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBufferLike)),
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const acmeAccounts = pgTable(
  'acme_accounts',
  {
    id: text('id').primaryKey(),
    /** The account public key as a JWK (public members only). */
    jwk: jsonb('jwk').notNull(),
    /** RFC 7638 SHA-256 thumbprint of `jwk`: one account per key. */
    thumbprint: text('thumbprint').notNull(),
    /** valid | deactivated | revoked */
    status: text('status').notNull().default('valid'),
    contact: jsonb('contact').notNull().default([]),
    termsAgreed: boolean('terms_agreed').notNull().default(false),
    /** Key id of the external account binding used to create it, if any. */
    eabKid: text('eab_kid'),
    createdIp: text('created_ip'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('acme_accounts_thumbprint_uq').on(t.thumbprint)],
);

/** External account binding keys (RFC 8555 §7.3.4): HMAC keys sealed under the KEK. */
export const acmeEabKeys = pgTable('acme_eab_keys', {
  kid: text('kid').primaryKey(),
  hmacKeySealed: bytea('hmac_key_sealed').notNull(),
  note: text('note'),
  createdBy: text('created_by').notNull(),
  /** The account bound with this key (a key binds one account). */
  accountId: text('account_id'),
  disabled: boolean('disabled').notNull().default(false),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const acmeOrders = pgTable(
  'acme_orders',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    /** pending | ready | processing | valid | invalid */
    status: text('status').notNull(),
    expires: ts('expires').notNull(),
    /** [{type, value}] as requested (wildcards keep their `*.`). */
    identifiers: jsonb('identifiers').notNull(),
    authzIds: text('authz_ids').array().notNull(),
    notBefore: ts('not_before'),
    notAfter: ts('not_after'),
    /** ACME profile name (directory meta.profiles) and the Certgate profile it maps to. */
    profile: text('profile').notNull(),
    certgateProfile: text('certgate_profile').notNull(),
    /** RFC 9773 `replaces`: the ARI certificate id of the certificate being replaced. */
    replaces: text('replaces'),
    error: jsonb('error'),
    certificateId: text('certificate_id'),
    /** The CSR (DER) while the order is processing: lets another instance finish it after a crash. */
    csr: bytea('csr'),
    processingSince: ts('processing_since'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('acme_orders_account_idx').on(t.accountId), index('acme_orders_status_idx').on(t.status, t.processingSince)],
);

export const acmeAuthorizations = pgTable(
  'acme_authorizations',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    orderId: text('order_id').notNull(),
    identifierType: text('identifier_type').notNull(),
    /** Without the wildcard label; `wildcard` says whether the order asked for `*.value`. */
    identifierValue: text('identifier_value').notNull(),
    wildcard: boolean('wildcard').notNull().default(false),
    /** pending | valid | invalid | deactivated | expired | revoked */
    status: text('status').notNull(),
    expires: ts('expires').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  // acme_authz_account_idx: authorization reuse looks up the account's valid authorization of an identifier.
  (t) => [index('acme_authz_order_idx').on(t.orderId), index('acme_authz_account_idx').on(t.accountId, t.identifierValue)],
);

export const acmeChallenges = pgTable(
  'acme_challenges',
  {
    id: text('id').primaryKey(),
    authzId: text('authz_id').notNull(),
    /** http-01 | dns-01 | tls-alpn-01 */
    type: text('type').notNull(),
    token: text('token').notNull(),
    /** pending | processing | valid | invalid */
    status: text('status').notNull(),
    validated: ts('validated'),
    error: jsonb('error'),
    attempts: integer('attempts').notNull().default(0),
    /** When validation started: a challenge left processing by a stopped instance is picked up again. */
    processingSince: ts('processing_since'),
    /** Evidence of the validation (addresses tried, resolver answers) for audits. */
    record: jsonb('record'),
  },
  (t) => [index('acme_challenges_authz_idx').on(t.authzId)],
);

/**
 * Redeemed nonces, kept until they expire. A nonce is `random.expiry.mac` under a key every
 * instance shares (acme_secrets); redeeming inserts it here, so a nonce works once cluster-wide.
 */
export const acmeNonces = pgTable(
  'acme_nonces',
  {
    nonce: text('nonce').primaryKey(),
    expires: ts('expires').notNull(),
  },
  (t) => [index('acme_nonces_expires_idx').on(t.expires)],
);

/** Secrets shared by every instance (the nonce MAC key), sealed under the KEK. */
export const acmeSecrets = pgTable('acme_secrets', {
  name: text('name').primaryKey(),
  sealed: bytea('sealed').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** Fixed-window counters for rate limits, shared by every instance. */
export const acmeRateLimits = pgTable(
  'acme_rate_limits',
  {
    key: text('key').notNull(),
    window: bigint('window', { mode: 'number' }).notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.key, t.window] })],
);
