import { z } from 'zod';

/**
 * What a profile allows and what it sets. The profile, not the CSR, decides what goes into a
 * certificate. Stored as JSON in the profiles table; validated with this schema on every write.
 */

export const attributeRule = z.object({
  /** Short name (CN, O, OU, C, ST, L, E, serialNumber, …) or dotted OID. */
  type: z.string().min(1),
  /** required: must be in the request; optional: kept if present; fixed: always `value`, request ignored. */
  rule: z.enum(['required', 'optional', 'fixed']),
  value: z.string().optional(),
  /** ASN.1 string type used when encoding. */
  encoding: z.enum(['utf8', 'printable', 'ia5']).default('utf8'),
  maxLength: z.number().int().positive().optional(),
  /** How many times the attribute may occur (OU often repeats). */
  maxOccurs: z.number().int().positive().default(1),
  /** Regular expression the value must match. */
  pattern: z.string().optional(),
});
export type AttributeRule = z.infer<typeof attributeRule>;

const sanTypeRule = z.object({
  allowed: z.boolean().default(false),
  /** DNS only: whether `*.example.com` is allowed. */
  wildcard: z.boolean().default(false),
});

export const keyUsageNames = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageName = (typeof keyUsageNames)[number];

export const profileSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'profile names are 1-128 of A-Z a-z 0-9 . _ -'),
  description: z.string().default(''),
  /** Issuer id that signs; undefined means the default issuing CA. */
  issuer: z.string().optional(),
  keys: z
    .object({
      rsa: z.object({ minBits: z.number().int().default(2048), maxBits: z.number().int().default(8192) }).optional(),
      ec: z.object({ curves: z.array(z.enum(['P-256', 'P-384', 'P-521'])).default(['P-256', 'P-384']) }).optional(),
      ed25519: z.boolean().default(false),
    })
    .default({ rsa: { minBits: 2048, maxBits: 8192 }, ec: { curves: ['P-256', 'P-384'] }, ed25519: false }),
  subject: z
    .object({
      attributes: z.array(attributeRule).default([]),
      /** 'profile': order of `attributes`; 'request': order the request gave. */
      order: z.enum(['profile', 'request']).default('profile'),
      /** What to do with an attribute the profile does not list. */
      unknown: z.enum(['reject', 'drop']).default('reject'),
    })
    .default({ attributes: [], order: 'profile', unknown: 'reject' }),
  san: z
    .object({
      dns: sanTypeRule.default({ allowed: false, wildcard: false }),
      ip: sanTypeRule.default({ allowed: false, wildcard: false }),
      email: sanTypeRule.default({ allowed: false, wildcard: false }),
      uri: sanTypeRule.default({ allowed: false, wildcard: false }),
      required: z.boolean().default(false),
      maxCount: z.number().int().positive().default(100),
      /** Copy a CN that looks like a DNS name / IP into the SANs (TLS clients ignore CN). */
      copyCommonName: z.boolean().default(false),
    })
    .default({
      dns: { allowed: false, wildcard: false },
      ip: { allowed: false, wildcard: false },
      email: { allowed: false, wildcard: false },
      uri: { allowed: false, wildcard: false },
      required: false,
      maxCount: 100,
      copyCommonName: false,
    }),
  /**
   * Key usages granted. They follow the key type (RFC 5480 §3, RFC 8410 §5, BR 7.1.2.7.11):
   * keyEncipherment and dataEncipherment go to RSA keys only, keyAgreement to EC keys only, and
   * Ed25519 keys keep digitalSignature, nonRepudiation, keyCertSign and cRLSign. So one profile
   * serves RSA (digitalSignature + keyEncipherment) and EC (digitalSignature) alike.
   */
  keyUsage: z.array(z.enum(keyUsageNames)).default(['digitalSignature']),
  /** Extended key usages by name (serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning) or OID. */
  extendedKeyUsage: z.array(z.string()).default([]),
  basicConstraints: z
    .object({ ca: z.boolean().default(false), pathLength: z.number().int().min(0).optional() })
    .default({ ca: false }),
  /** Certificate policy OIDs. */
  policies: z.array(z.string().regex(/^\d+(\.\d+)+$/)).default([]),
  validity: z
    .object({
      /** Seconds used when the request names none. */
      default: z.number().int().positive().default(90 * 86400),
      /** Upper bound in seconds; longer requests are clamped. */
      max: z.number().int().positive().default(397 * 86400),
      /** Whether a requested validity (duration or absolute) is honoured at all. */
      allowCustom: z.boolean().default(true),
      /** notBefore is set this many seconds in the past to absorb client clock skew. */
      backdate: z.number().int().min(0).default(60),
    })
    .default({ default: 90 * 86400, max: 397 * 86400, allowCustom: true, backdate: 60 }),
  /** Add id-pkix-ocsp-nocheck and leave out CRL DP / AIA OCSP (delegated OCSP responders, RFC 6960 4.2.2.2.1). */
  ocspNoCheck: z.boolean().default(false),
  /**
   * Who may be issued this profile (src/profiles/audience.ts): `end-entity` (protocol clients) or
   * `system` (OCSP responders, RA and protocol signers, CAs: operator and internal paths only).
   * Optional: the audience is derived from the extensions and this field can only raise it.
   */
  audience: z.enum(['end-entity', 'system']).optional(),
  manualApproval: z.boolean().default(false),
  /** Whether a public key already in a valid certificate may be certified again. */
  duplicateKey: z.enum(['allow', 'reject']).default('allow'),
  /** Whether a subject DN already in a valid certificate may be certified again. */
  duplicateSubject: z.enum(['allow', 'reject']).default('allow'),
  /** 'reject' refuses a request asking for more than allowed; 'trim' silently drops the excess. */
  onExcess: z.enum(['reject', 'trim']).default('reject'),
  enabled: z.boolean().default(true),
});

export type Profile = z.infer<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;

export function parseProfile(input: unknown): Profile {
  return profileSchema.parse(input);
}
