/**
 * Built-in profiles, installed on first start and editable afterwards. Each one passes
 * `parseProfile` (the test suite checks it). Upper bounds on attribute lengths follow X.520
 * (ub-common-name 64, ub-organization-name 64, ub-locality-name 128, …). Attributes are listed in
 * DER order, most significant first (C, ST, L, O, OU, CN), which is the order the subject gets.
 */
import type { AttributeRule, ProfileInput } from './model.ts';

const DAY = 86400;
const YEAR = 365 * DAY;

type Rule = Partial<AttributeRule> & Pick<AttributeRule, 'type' | 'rule'>;

const CN = (rule: 'required' | 'optional'): Rule => ({ type: 'CN', rule, maxLength: 64 });
const O = (rule: 'required' | 'optional' = 'optional'): Rule => ({ type: 'O', rule, maxLength: 64 });
const OU: Rule = { type: 'OU', rule: 'optional', maxLength: 64, maxOccurs: 4 };
const C: Rule = { type: 'C', rule: 'optional', encoding: 'printable', maxLength: 2 };
const ST: Rule = { type: 'ST', rule: 'optional', maxLength: 128 };
const L: Rule = { type: 'L', rule: 'optional', maxLength: 128 };

const defaultKeys = {
  rsa: { minBits: 2048, maxBits: 8192 },
  ec: { curves: ['P-256', 'P-384'] as ('P-256' | 'P-384' | 'P-521')[] },
  ed25519: false,
};

export const builtinProfiles: ProfileInput[] = [
  {
    name: 'tls-server',
    description: 'TLS server certificates: DNS names and IP addresses, wildcards allowed (CA/B-style 397-day cap)',
    keys: defaultKeys,
    subject: { attributes: [C, ST, L, O(), OU, CN('optional')], order: 'profile', unknown: 'reject' },
    san: {
      dns: { allowed: true, wildcard: true },
      ip: { allowed: true, wildcard: false },
      required: true,
      maxCount: 100,
      copyCommonName: true,
    },
    // keyEncipherment reaches RSA keys only (the pipeline follows the key type): EC gets digitalSignature.
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extendedKeyUsage: ['serverAuth'],
    validity: { default: 90 * DAY, max: 397 * DAY, allowCustom: true, backdate: 60 },
  },
  {
    name: 'tls-client',
    description: 'TLS client authentication (users, services); DNS, email and URI SANs',
    keys: defaultKeys,
    subject: { attributes: [C, ST, L, O(), OU, CN('required')], order: 'profile', unknown: 'reject' },
    san: {
      dns: { allowed: true, wildcard: false },
      email: { allowed: true, wildcard: false },
      uri: { allowed: true, wildcard: false },
      required: false,
      maxCount: 20,
    },
    // TLS 1.2/1.3 client authentication only ever signs (CertificateVerify).
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: ['clientAuth'],
    validity: { default: YEAR, max: 2 * YEAR, allowCustom: true, backdate: 60 },
  },
  {
    name: 'device',
    description: 'Devices and IoT (EST, SCEP, CMP): client and server authentication',
    keys: { ...defaultKeys, ed25519: true },
    subject: {
      attributes: [O(), OU, CN('required'), { type: 'serialNumber', rule: 'optional', encoding: 'printable', maxLength: 64 }],
      order: 'profile',
      unknown: 'reject',
    },
    san: {
      dns: { allowed: true, wildcard: false },
      ip: { allowed: true, wildcard: false },
      uri: { allowed: true, wildcard: false },
      required: false,
      maxCount: 20,
    },
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extendedKeyUsage: ['clientAuth', 'serverAuth'],
    validity: { default: YEAR, max: 3 * YEAR, allowCustom: true, backdate: 60 },
  },
  {
    name: 'email',
    description: 'S/MIME: signing and encrypting email',
    keys: defaultKeys,
    subject: {
      attributes: [CN('optional'), { type: 'E', rule: 'optional', encoding: 'ia5', maxLength: 255 }],
      order: 'profile',
      unknown: 'reject',
    },
    san: { email: { allowed: true, wildcard: false }, required: true, maxCount: 10 },
    keyUsage: ['digitalSignature', 'keyEncipherment', 'nonRepudiation'],
    extendedKeyUsage: ['emailProtection'],
    validity: { default: YEAR, max: 2 * YEAR, allowCustom: true, backdate: 60 },
  },
  {
    name: 'code-signing',
    description: 'Code signing: an organisation signs software (RSA at least 3072 bits, as CA/B CS BRs ask)',
    keys: { rsa: { minBits: 3072, maxBits: 8192 }, ec: { curves: ['P-256', 'P-384'] }, ed25519: false },
    subject: { attributes: [C, O('required'), CN('required')], order: 'profile', unknown: 'reject' },
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: ['codeSigning'],
    validity: { default: YEAR, max: 3 * YEAR, allowCustom: true, backdate: 60 },
  },
  {
    name: 'ocsp-signing',
    description: 'Delegated OCSP responder certificates (short-lived); system: operator and internal paths only',
    audience: 'system',
    keys: defaultKeys,
    subject: { attributes: [CN('required')], order: 'profile', unknown: 'reject' },
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: ['OCSPSigning'],
    ocspNoCheck: true,
    validity: { default: 30 * DAY, max: YEAR, allowCustom: true, backdate: 60 },
  },
  {
    name: 'scep-ra',
    description: 'SCEP RA certificate: signs CertRep messages and receives envelopes (RFC 8894 §2.1); RSA, as SCEP clients need; system',
    audience: 'system',
    keys: { rsa: { minBits: 2048, maxBits: 4096 }, ed25519: false },
    subject: { attributes: [C, O(), OU, CN('required')], order: 'profile', unknown: 'reject' },
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    validity: { default: 2 * YEAR, max: 3 * YEAR, allowCustom: true, backdate: 60 },
  },
  {
    name: 'cmp-signer',
    description: 'CMP RA/CA protection certificate: signs PKIMessages (RFC 9483 §3.1, id-kp-cmcRA) and centrally generated keys (§4.1.6, id-kp-cmKGA); system',
    audience: 'system',
    keys: defaultKeys,
    subject: { attributes: [C, O(), OU, CN('required')], order: 'profile', unknown: 'reject' },
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: ['cmcRA', 'cmKGA'],
    validity: { default: 2 * YEAR, max: 3 * YEAR, allowCustom: true, backdate: 60 },
  },
  {
    name: 'est-server',
    description: 'EST server TLS certificate acting as an RA (RFC 7030 §3.6.1: serverAuth and id-kp-cmcRA); system',
    audience: 'system',
    keys: defaultKeys,
    subject: { attributes: [C, O(), OU, CN('optional')], order: 'profile', unknown: 'reject' },
    san: {
      dns: { allowed: true, wildcard: false },
      ip: { allowed: true, wildcard: false },
      required: true,
      maxCount: 20,
      copyCommonName: true,
    },
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extendedKeyUsage: ['serverAuth', 'cmcRA'],
    validity: { default: YEAR, max: 397 * DAY, allowCustom: true, backdate: 60 },
  },
];
