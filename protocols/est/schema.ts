/**
 * EST's own tables: labels (RFC 7030 §3.2.2 "additional path segment": a label names a CA and a
 * profile) and the HTTP Basic credentials of each label.
 */
import { boolean, customType, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBufferLike)),
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const estLabels = pgTable('est_labels', {
  name: text('name').primaryKey(),
  profile: text('profile').notNull(),
  /** Issuer that signs; null means the profile's (or the default) issuer. */
  issuerId: text('issuer_id'),
  /** cert | basic | both: which client authentication the label accepts. */
  auth: text('auth').notNull().default('both'),
  /** When true the CSR's challengePassword must carry the TLS channel binding (RFC 7030 §3.5). */
  channelBinding: boolean('channel_binding').notNull().default(false),
  createdBy: text('created_by').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const estUsers = pgTable(
  'est_users',
  {
    id: text('id').primaryKey(),
    label: text('label').notNull(),
    name: text('name').notNull(),
    /** scrypt(password, salt), N=2^14 r=8 p=1, 32 bytes. */
    passwordHash: bytea('password_hash').notNull(),
    salt: bytea('salt').notNull(),
    /**
     * The password sealed under the KEK (purpose est:user-password): the shared secret a CMC
     * identityProof(V2) is a MAC with (RFC 5272 §6.2), which a hash alone cannot check.
     */
    passwordSealed: bytea('password_sealed').notNull(),
    disabled: boolean('disabled').notNull().default(false),
    createdBy: text('created_by').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('est_users_label_name_uq').on(t.label, t.name)],
);
