/**
 * The ePassport PKI's own tables (BSI TR-03110 / TR-03129): Certgate's CV certification
 * authorities (CVCAs and DVs it operates), registered certificate holders (domestic and foreign
 * DVs, terminals), CV profiles, every CV certificate it issued, holds or imported, the messages of
 * the SPOC web service, and Document Signer lists. CV certificates have no revocation (TR-03110
 * relies on short validity), so there is no status column.
 */
import { boolean, customType, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBufferLike)),
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** A CVCA or DV that Certgate operates: its keys are in the key store, one per certificate. */
export const epassportAuthorities = pgTable(
  'epassport_authorities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** cvca | dv */
    kind: text('kind').notNull(),
    /** Country code and holder mnemonic: the CHR without its sequence number. */
    holder: text('holder').notNull(),
    /** is | at | st */
    terminalType: text('terminal_type').notNull(),
    curve: text('curve').notNull(),
    /** The certificate in force (its CHR names the key that signs now). */
    currentCertificateId: uuid('current_certificate_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('epassport_authorities_holder_idx').on(t.holder)],
);

/** A DV or terminal allowed to request certificates from one of Certgate's authorities. */
export const epassportHolders = pgTable(
  'epassport_holders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    holder: text('holder').notNull(),
    /** dv_domestic | dv_foreign | terminal */
    role: text('role').notNull(),
    authorityId: uuid('authority_id').notNull(),
    profile: text('profile').notNull(),
    /** One request without an outer signature is accepted (the initial request, TR-03129 §3). */
    initialAllowed: boolean('initial_allowed').notNull().default(false),
    createdBy: text('created_by').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('epassport_holders_holder_idx').on(t.holder)],
);

/** What a CV certificate of a role may carry: terminal type, the most rights, the longest validity. */
export const epassportProfiles = pgTable('epassport_profiles', {
  name: text('name').primaryKey(),
  role: text('role').notNull(),
  terminalType: text('terminal_type').notNull(),
  /** The rights (CHAT template without role bits) granted at most, hex. */
  chat: text('chat').notNull(),
  maxValidityDays: integer('max_validity_days').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/**
 * Every CV certificate: issued by Certgate (origin `issued`), Certgate's own authorities' (`own`,
 * with a key in the key store) and imported ones (`imported`: foreign CVCAs and their DVs).
 */
export const epassportCertificates = pgTable(
  'epassport_certificates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    car: text('car').notNull(),
    chr: text('chr').notNull(),
    role: text('role').notNull(),
    terminalType: text('terminal_type').notNull(),
    origin: text('origin').notNull(),
    der: bytea('der').notNull(),
    effective: ts('effective').notNull(),
    expiration: ts('expiration').notNull(),
    /** For `own` certificates: the key it certifies (sign with it under this CHR). */
    keyRef: text('key_ref'),
    authorityId: uuid('authority_id'),
    holderId: uuid('holder_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('epassport_certificates_car_chr_idx').on(t.car, t.chr), index('epassport_certificates_chr_idx').on(t.chr)],
);

/** A SPOC message received (RequestCertificate, …): its state for asynchronous processing and replay. */
export const epassportMessages = pgTable(
  'epassport_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    operation: text('operation').notNull(),
    /** The originator's messageID (unique per originator), when given. */
    messageId: text('message_id'),
    /** The CHR of the request, or `anonymous` for GetCACertificates. */
    originator: text('originator').notNull(),
    responseUrl: text('response_url'),
    /** received | done */
    status: text('status').notNull(),
    returnCode: text('return_code'),
    requestDer: bytea('request_der'),
    certificateId: uuid('certificate_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('epassport_messages_origin_msg_idx').on(t.originator, t.messageId)],
);

/** Document Signer lists (CMS SignedData, ICAO 9303-12) as received, newest distributed. */
export const epassportDsLists = pgTable('epassport_ds_lists', {
  id: uuid('id').primaryKey().defaultRandom(),
  der: bytea('der').notNull(),
  signerSubject: text('signer_subject').notNull(),
  certificateCount: integer('certificate_count').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});
