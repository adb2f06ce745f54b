import type { ProfileInput } from '../../../src/profiles/model.ts';

const YEAR = 365 * 86400;

/**
 * The built-in eSign profile (created when missing; operators own it afterwards): document signing
 * certificates for server-held keys — non-repudiation, id-kp-documentSigning (RFC 9336).
 */
export const esignProfile = (name: string): ProfileInput => ({
  name,
  description: 'emCA eSign: document-signing certificates whose keys Certgate holds for registered signers',
  keys: { rsa: { minBits: 2048, maxBits: 4096 }, ec: { curves: ['P-256', 'P-384'] }, ed25519: false },
  subject: {
    attributes: [
      { type: 'C', rule: 'optional', encoding: 'printable', maxLength: 2 },
      { type: 'O', rule: 'optional', maxLength: 64 },
      { type: 'OU', rule: 'optional', maxLength: 64, maxOccurs: 4 },
      { type: 'serialNumber', rule: 'optional', encoding: 'printable', maxLength: 64 },
      { type: 'E', rule: 'optional', encoding: 'ia5', maxLength: 128 },
      { type: 'CN', rule: 'required', maxLength: 64 },
    ],
    order: 'profile',
    unknown: 'reject',
  },
  san: { email: { allowed: true, wildcard: false } },
  keyUsage: ['digitalSignature', 'nonRepudiation'],
  extendedKeyUsage: ['1.3.6.1.5.5.7.3.36'],
  validity: { default: YEAR, max: 2 * YEAR, allowCustom: true, backdate: 60 },
});
