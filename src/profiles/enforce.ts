/**
 * Profile enforcement: the profile, not the CSR, decides what goes into a certificate.
 * Pure functions: a requested subject and SANs in, a CertificateTemplate out, or a ProfileViolation
 * naming the broken rule and the offending value.
 *
 * Rule names (IssuanceError.rule; code `policy` unless noted):
 *   keys.rsa · keys.ec · keys.ed25519 · keys.algorithm
 *   subject.unknown · subject.<T>.required · subject.<T>.maxOccurs · subject.<T>.maxLength
 *   subject.<T>.pattern · subject.<T>.encoding · subject.C.format           (<T>: CN, O, serialNumber …)
 *   san.dns · san.ip · san.email · san.uri · san.dns.wildcard · san.<type>.wildcard
 *   san.maxCount · san.required · keyUsage.keyType
 *   authorization (code notAuthorizedForIdentifier)
 * Malformed SANs throw BadRequest with rule `san.<type>.syntax` (bad input, not a policy decision).
 * A broken profile (unknown EKU name, unknown attribute type, bad pattern, fixed rule without value)
 * throws code `internal`, rule `profile.config`: a configuration bug, not the client's fault.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { BadRequest, IssuanceError, ProfileViolation } from '../issuance/errors.ts';
import type { Identifier, IdentifierType, SubjectAttribute } from '../issuance/request.ts';
import { attributeOid, attributeShortName, ekuOids } from '../pki/oids.ts';
import type { AttributeRule, KeyUsageName, Profile } from './model.ts';

export type KeyInfo =
  | { type: 'RSA'; bits: number }
  | { type: 'EC'; curve: string }
  | { type: 'Ed25519' }
  | { type: 'Ed448' }
  | { type: 'unknown'; oid: string };

export type StringEncoding = 'utf8' | 'printable' | 'ia5';

export interface EncodedAttribute {
  oid: string;
  value: string;
  encoding: StringEncoding;
}

export interface CertificateTemplate {
  subject: EncodedAttribute[];
  sans: Identifier[];
  keyUsage: KeyUsageName[];
  /** Dotted OIDs. */
  extendedKeyUsage: string[];
  basicConstraints: { ca: boolean; pathLength?: number };
  policies: string[];
}

export interface EnforceInput {
  subject: SubjectAttribute[];
  sans: Identifier[];
  /** When given, every SAN (and a CN that is a DNS name or IP) must be one of these. */
  authorizedIdentifiers?: Identifier[];
  /** The public key: key usages follow its type (keyUsageForKey). */
  key?: KeyInfo;
}

/** Quote a value for a message, cut short so messages stay readable. */
function q(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

function violation(profile: Profile, rule: string, text: string): ProfileViolation {
  return new ProfileViolation(rule, `${text} (profile '${profile.name}', rule ${rule})`);
}

/** A profile that cannot be applied: the operator's configuration bug, never the client's fault. */
function broken(text: string): IssuanceError {
  return new IssuanceError('internal', text, 'profile.config');
}

function notAuthorized(profile: Profile, text: string): IssuanceError {
  return new IssuanceError('notAuthorizedForIdentifier', `${text} (profile '${profile.name}', rule authorization)`, 'authorization');
}

// ---------------------------------------------------------------------------------------------
// Keys

const curveAliases: Record<string, 'P-256' | 'P-384' | 'P-521'> = {
  'p-256': 'P-256',
  p256: 'P-256',
  prime256v1: 'P-256',
  secp256r1: 'P-256',
  '1.2.840.10045.3.1.7': 'P-256',
  'p-384': 'P-384',
  p384: 'P-384',
  secp384r1: 'P-384',
  '1.3.132.0.34': 'P-384',
  'p-521': 'P-521',
  p521: 'P-521',
  secp521r1: 'P-521',
  '1.3.132.0.35': 'P-521',
};

/** Throws ProfileViolation when the profile does not allow this public key. */
export function checkKey(profile: Profile, key: KeyInfo): void {
  const { keys } = profile;
  switch (key.type) {
    case 'RSA': {
      if (!keys.rsa) throw violation(profile, 'keys.rsa', `RSA keys are not allowed (got RSA ${key.bits} bits)`);
      if (key.bits < keys.rsa.minBits) {
        throw violation(
          profile,
          'keys.rsa',
          `RSA key of ${key.bits} bits is below the profile minimum of ${keys.rsa.minBits}`,
        );
      }
      if (key.bits > keys.rsa.maxBits) {
        throw violation(
          profile,
          'keys.rsa',
          `RSA key of ${key.bits} bits is above the profile maximum of ${keys.rsa.maxBits}`,
        );
      }
      return;
    }
    case 'EC': {
      const curve = curveAliases[key.curve.toLowerCase()];
      if (!keys.ec) throw violation(profile, 'keys.ec', `EC keys are not allowed (got curve ${key.curve})`);
      if (!curve || !keys.ec.curves.includes(curve)) {
        throw violation(
          profile,
          'keys.ec',
          `EC curve ${key.curve} is not allowed; allowed curves: ${keys.ec.curves.join(', ') || 'none'}`,
        );
      }
      return;
    }
    case 'Ed25519':
      if (!keys.ed25519) throw violation(profile, 'keys.ed25519', 'Ed25519 keys are not allowed');
      return;
    case 'Ed448':
      throw violation(profile, 'keys.algorithm', 'Ed448 keys are not supported');
    default: {
      const oid = (key as { oid?: string }).oid ?? 'unknown';
      throw violation(profile, 'keys.algorithm', `public key algorithm ${oid} is not supported`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Subject

/** PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ? */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const IA5 = /^[\x00-\x7f]*$/;

/** Attributes whose ASN.1 string type is fixed by X.520 / PKCS#9 whatever the profile says. */
const mandatedEncoding: Record<string, StringEncoding> = {
  '2.5.4.6': 'printable', // C
  '2.5.4.5': 'printable', // serialNumber
  '2.5.4.46': 'printable', // dnQualifier
  '1.2.840.113549.1.9.1': 'ia5', // E (emailAddress)
  '0.9.2342.19200300.100.1.25': 'ia5', // DC
};

interface CompiledRule {
  rule: AttributeRule;
  oid: string;
  /** Canonical short name (or the OID) used in rule names. */
  name: string;
  encoding: StringEncoding;
  pattern?: RegExp;
}

function compileRules(profile: Profile): Map<string, CompiledRule> {
  const rules = new Map<string, CompiledRule>();
  for (const rule of profile.subject.attributes) {
    const oid = attributeOid(rule.type);
    if (!oid) throw broken(`profile '${profile.name}' lists unknown subject attribute type '${rule.type}'`);
    if (rules.has(oid)) throw broken(`profile '${profile.name}' lists subject attribute '${rule.type}' twice`);
    if (rule.rule === 'fixed' && rule.value === undefined) {
      throw broken(`profile '${profile.name}' fixes subject attribute '${rule.type}' without a value`);
    }
    let pattern: RegExp | undefined;
    if (rule.pattern !== undefined) {
      try {
        // The pattern must match the whole value, anchored or not.
        pattern = new RegExp(`^(?:${rule.pattern})$`, 'u');
      } catch (e) {
        throw broken(`profile '${profile.name}' has an invalid pattern for '${rule.type}': ${(e as Error).message}`);
      }
    }
    const name = attributeShortName(oid) ?? oid;
    rules.set(oid, { rule, oid, name, encoding: mandatedEncoding[oid] ?? rule.encoding, pattern });
  }
  return rules;
}

function checkValue(profile: Profile, r: CompiledRule, value: string): string {
  const prefix = `subject.${r.name}`;
  if (r.oid === '2.5.4.6') {
    if (!/^[A-Za-z]{2}$/.test(value)) {
      throw violation(profile, `${prefix}.format`, `subject C must be a two-letter ISO 3166 country code, got ${q(value)}`);
    }
    value = value.toUpperCase();
  }
  const length = [...value].length;
  if (r.rule.maxLength !== undefined && length > r.rule.maxLength) {
    throw violation(
      profile,
      `${prefix}.maxLength`,
      `subject ${r.name} ${q(value)} is ${length} characters, more than the maximum of ${r.rule.maxLength}`,
    );
  }
  if (r.encoding === 'printable' && !PRINTABLE.test(value)) {
    throw violation(
      profile,
      `${prefix}.encoding`,
      `subject ${r.name} ${q(value)} has characters outside PrintableString (A-Z a-z 0-9 space '()+,-./:=?)`,
    );
  }
  if (r.encoding === 'ia5' && !IA5.test(value)) {
    throw violation(profile, `${prefix}.encoding`, `subject ${r.name} ${q(value)} has characters outside IA5String (ASCII)`);
  }
  if (r.pattern && !r.pattern.test(value)) {
    throw violation(
      profile,
      `${prefix}.pattern`,
      `subject ${r.name} ${q(value)} does not match the pattern ${q(r.rule.pattern ?? '')}`,
    );
  }
  return value;
}

/**
 * The subject the certificate gets, in DER order (most significant first, as src/pki/name.ts
 * expects): the order of the profile's attribute list, or with `subject.order: 'request'` the
 * order the request gave (fixed attributes it did not mention follow). Empty values count as absent. Unknown attributes are rejected
 * unless `subject.unknown` is 'drop' or `onExcess` is 'trim'. Excess occurrences are rejected, or
 * in trim mode the first `maxOccurs` are kept. Value checks (length, pattern, charset, C format) and
 * missing required attributes always reject.
 */
function enforceSubject(profile: Profile, requested: SubjectAttribute[]): EncodedAttribute[] {
  const rules = compileRules(profile);
  const trim = profile.onExcess === 'trim';
  const dropUnknown = profile.subject.unknown === 'drop' || trim;

  /** Requested values per OID, in request order; `firstSeen` remembers the request's type order. */
  const byOid = new Map<string, string[]>();
  const firstSeen: string[] = [];
  for (const attr of requested) {
    if (attr.value === '') continue;
    const oid = attributeOid(attr.type);
    const r = oid ? rules.get(oid) : undefined;
    if (!oid || !r) {
      if (dropUnknown) continue;
      throw violation(
        profile,
        'subject.unknown',
        `subject attribute ${attr.type}=${q(attr.value)} is not allowed by the profile`,
      );
    }
    if (!byOid.has(oid)) {
      byOid.set(oid, []);
      firstSeen.push(oid);
    }
    byOid.get(oid)!.push(attr.value);
  }

  const out = new Map<string, EncodedAttribute[]>();
  for (const r of rules.values()) {
    let values: string[];
    if (r.rule.rule === 'fixed') {
      values = [r.rule.value!];
    } else {
      values = byOid.get(r.oid) ?? [];
      if (values.length === 0) {
        if (r.rule.rule === 'required') {
          throw violation(profile, `subject.${r.name}.required`, `subject attribute ${r.name} is required but missing`);
        }
        continue;
      }
      if (values.length > r.rule.maxOccurs) {
        if (!trim) {
          throw violation(
            profile,
            `subject.${r.name}.maxOccurs`,
            `subject attribute ${r.name} occurs ${values.length} times (${values.map(q).join(', ')}), more than the maximum of ${r.rule.maxOccurs}`,
          );
        }
        values = values.slice(0, r.rule.maxOccurs);
      }
      values = values.map((v) => checkValue(profile, r, v));
    }
    out.set(r.oid, values.map((value) => ({ oid: r.oid, value, encoding: r.encoding })));
  }

  const order =
    profile.subject.order === 'request'
      ? [...firstSeen.filter((oid) => out.has(oid)), ...[...out.keys()].filter((oid) => !firstSeen.includes(oid))]
      : [...out.keys()];
  return order.flatMap((oid) => out.get(oid)!);
}

// ---------------------------------------------------------------------------------------------
// SANs

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * A DNS name in canonical form (lower-case A-labels, no trailing dot), or an error text.
 * A wildcard is a leftmost `*` label followed by at least two labels (no `*.com`).
 */
function normaliseDns(value: string): { ok: string; wildcard: boolean } | { error: string } {
  let v = value.endsWith('.') ? value.slice(0, -1) : value;
  if (v === '') return { error: 'is empty' };
  const wildcard = v.startsWith('*.');
  if (wildcard) v = v.slice(2);
  if (/[^\x00-\x7f]/.test(v)) {
    const ascii = domainToASCII(v);
    if (ascii === '') return { error: 'is not a valid internationalised domain name' };
    v = ascii;
  }
  v = v.toLowerCase();
  if (isIP(v) !== 0) return { error: 'is an IP address; use an ip SAN' };
  const labels = v.split('.');
  for (const label of labels) {
    if (label.includes('*')) return { error: 'has a wildcard that is not the whole leftmost label' };
    if (label.length === 0) return { error: 'has an empty label' };
    if (label.length > 63) return { error: `has a label of ${label.length} characters (maximum 63)` };
    if (!LDH_LABEL.test(label)) {
      return { error: `has label ${q(label)} that is not letters, digits and inner hyphens` };
    }
  }
  if (wildcard && labels.length < 2) return { error: 'is a wildcard over a single label' };
  const full = (wildcard ? '*.' : '') + v;
  if (full.length > 253) return { error: `is ${full.length} characters long (maximum 253)` };
  return { ok: full, wildcard };
}

function normaliseIp(value: string): string | undefined {
  if (value.includes('%')) return undefined; // zone ids mean nothing in a certificate
  const kind = isIP(value);
  if (kind === 4) return value;
  if (kind === 6) return new URL(`http://[${value}]`).hostname.slice(1, -1);
  return undefined;
}

type SanCheck = { value: string; wildcard: boolean } | { error: string };

function checkSanSyntax(san: Identifier): SanCheck {
  const value = san.value;
  switch (san.type) {
    case 'dns': {
      const r = normaliseDns(value);
      return 'error' in r ? r : { value: r.ok, wildcard: r.wildcard };
    }
    case 'ip': {
      const ip = normaliseIp(value);
      return ip === undefined ? { error: 'is not a valid IPv4 or IPv6 address' } : { value: ip, wildcard: false };
    }
    case 'email': {
      const at = value.lastIndexOf('@');
      if (at <= 0 || at === value.length - 1) return { error: 'is not of the form local@domain' };
      const local = value.slice(0, at);
      const domain = value.slice(at + 1);
      if (local.length > 64) return { error: `has a local part of ${local.length} characters (maximum 64)` };
      if (!DOT_ATOM.test(local)) return { error: `has an invalid local part ${q(local)}` };
      if (domain.includes('*')) return { value, wildcard: true }; // refused by the caller
      const d = normaliseDns(domain);
      if ('error' in d || d.wildcard) return { error: `has an invalid domain: ${'error' in d ? d.error : 'wildcard'}` };
      return { value: `${local}@${d.ok}`, wildcard: false };
    }
    case 'uri': {
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return { error: 'is not an absolute URI with a scheme' };
      if (!/^[\x21-\x7e]+$/.test(value)) return { error: 'contains spaces, controls or non-ASCII characters' };
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return { error: 'is not a valid URI' };
      }
      return { value, wildcard: url.hostname.includes('*') };
    }
    default:
      return { error: `has unsupported SAN type ${q(String(san.type))}` };
  }
}

const sanTypes: IdentifierType[] = ['dns', 'ip', 'email', 'uri'];

function sanKey(s: Identifier): string {
  return `${s.type}:${s.value}`;
}

/** Lenient normalisation of authorized identifiers, so `Example.COM` authorizes `example.com`. */
function normaliseAuthorized(id: Identifier): string {
  if (id.type === 'dns') {
    const r = normaliseDns(id.value);
    return `dns:${'error' in r ? id.value.toLowerCase() : r.ok}`;
  }
  if (id.type === 'ip') return `ip:${normaliseIp(id.value) ?? id.value}`;
  if (id.type === 'email') {
    const at = id.value.lastIndexOf('@');
    return at > 0 ? `email:${id.value.slice(0, at)}@${id.value.slice(at + 1).toLowerCase()}` : `email:${id.value}`;
  }
  return sanKey(id);
}

/** A CN worth copying into the SANs / authorizing: an IP, or a DNS name of two or more labels. */
function commonNameIdentifier(cn: string): Identifier | undefined {
  const ip = normaliseIp(cn);
  if (ip !== undefined) return { type: 'ip', value: ip };
  if (!cn.includes('.')) return undefined;
  const d = normaliseDns(cn);
  return 'error' in d ? undefined : { type: 'dns', value: d.ok };
}

/**
 * The SANs the certificate gets, in request order (a copied CN first), normalised and deduplicated.
 * Not-allowed types and wildcards are rejected, or dropped in trim mode; malformed values always
 * reject. A CN is copied only when its SAN type (and wildcard) is allowed; it never causes a
 * rejection by itself.
 */
function enforceSans(profile: Profile, requested: Identifier[], subject: EncodedAttribute[]): Identifier[] {
  const trim = profile.onExcess === 'trim';
  const rules = profile.san;
  const out: Identifier[] = [];
  const seen = new Set<string>();
  const add = (s: Identifier) => {
    const k = sanKey(s);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(s);
    }
  };

  if (rules.copyCommonName) {
    for (const attr of subject) {
      if (attr.oid !== '2.5.4.3') continue;
      const id = commonNameIdentifier(attr.value);
      if (!id || !rules[id.type].allowed) continue;
      if (id.type === 'dns' && id.value.startsWith('*.') && !rules.dns.wildcard) continue;
      add(id);
    }
  }

  for (const san of requested) {
    const type = san.type;
    const display = `${String(type)}:${san.value}`;
    if (!sanTypes.includes(type)) {
      throw new BadRequest(`SAN ${q(display)} has an unsupported type (rule san.${String(type)}.syntax)`, `san.${String(type)}.syntax`);
    }
    if (!rules[type].allowed) {
      if (trim) continue;
      throw violation(profile, `san.${type}`, `${type} SANs are not allowed, got ${q(san.value)}`);
    }
    const r = checkSanSyntax(san);
    if ('error' in r) {
      throw new BadRequest(`${type} SAN ${q(san.value)} ${r.error} (rule san.${type}.syntax)`, `san.${type}.syntax`);
    }
    if (r.wildcard) {
      if (type !== 'dns') {
        if (trim) continue;
        throw violation(profile, `san.${type}.wildcard`, `wildcards are only allowed in dns SANs, got ${q(san.value)}`);
      }
      if (!rules.dns.wildcard) {
        if (trim) continue;
        throw violation(profile, 'san.dns.wildcard', `wildcard dns SANs are not allowed, got ${q(san.value)}`);
      }
    }
    add({ type, value: r.value });
  }

  if (out.length > rules.maxCount) {
    if (!trim) {
      throw violation(profile, 'san.maxCount', `${out.length} SANs requested, more than the maximum of ${rules.maxCount}`);
    }
    out.length = rules.maxCount;
  }
  if (rules.required && out.length === 0) {
    const allowed = sanTypes.filter((t) => rules[t].allowed).join(', ') || 'none';
    throw violation(profile, 'san.required', `at least one SAN is required (allowed types: ${allowed}), got none`);
  }
  return out;
}

function checkAuthorization(
  profile: Profile,
  authorized: Identifier[],
  sans: Identifier[],
  subject: EncodedAttribute[],
): void {
  const ok = new Set(authorized.map(normaliseAuthorized));
  for (const san of sans) {
    if (!ok.has(sanKey(san))) throw notAuthorized(profile, `not authorized for ${sanKey(san)}`);
  }
  // A CN naming a host is read by older TLS clients: it needs the same authorization as a SAN.
  for (const attr of subject) {
    if (attr.oid !== '2.5.4.3') continue;
    const id = commonNameIdentifier(attr.value);
    if (id && !ok.has(sanKey(id))) {
      throw notAuthorized(profile, `not authorized for ${sanKey(id)} (subject CN)`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

const ekuByLower: Record<string, string> = Object.fromEntries(
  Object.entries(ekuOids).map(([k, v]) => [k.toLowerCase(), v]),
);

/** EKU names (case-insensitive) or dotted OIDs to OIDs. An unknown name is a profile bug: Error. */
export function resolveEkus(profile: Profile): string[] {
  const oids = profile.extendedKeyUsage.map((name) => {
    if (/^\d+(\.\d+)+$/.test(name)) return name;
    const oid = ekuByLower[name.toLowerCase()];
    if (!oid) throw broken(`profile '${profile.name}' names unknown extended key usage '${name}'`);
    return oid;
  });
  return [...new Set(oids)];
}

/** Key usages each key type can serve (RFC 5480 §3, RFC 8410 §5, CA/B BR §7.1.2.7.11). */
const usagesForKey: Record<'RSA' | 'EC' | 'Ed25519', ReadonlySet<KeyUsageName>> = {
  RSA: new Set(['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyCertSign', 'cRLSign']),
  EC: new Set(['digitalSignature', 'nonRepudiation', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly']),
  Ed25519: new Set(['digitalSignature', 'nonRepudiation', 'keyCertSign', 'cRLSign']),
};

/**
 * The profile's key usages that this key can serve: keyEncipherment and dataEncipherment go to
 * RSA keys only, keyAgreement to EC keys only. So `tls-server` gives RSA keys digitalSignature +
 * keyEncipherment and EC keys digitalSignature. A profile left with nothing for the key refuses it.
 */
export function keyUsageForKey(profile: Profile, usages: KeyUsageName[], key: KeyInfo): KeyUsageName[] {
  const able = key.type === 'RSA' || key.type === 'EC' || key.type === 'Ed25519' ? usagesForKey[key.type] : undefined;
  if (!able) return usages;
  const kept = usages.filter((u) => able.has(u));
  if (kept.length === 0 && usages.length > 0) {
    throw violation(profile, 'keyUsage.keyType', `a ${key.type} key can serve none of the profile's key usages (${usages.join(', ')})`);
  }
  return kept;
}

/**
 * Apply a profile to a requested subject and SANs. Returns what the certificate will contain, or
 * throws ProfileViolation / BadRequest naming the rule and the offending value.
 */
export function enforceProfile(profile: Profile, input: EnforceInput): CertificateTemplate {
  const extendedKeyUsage = resolveEkus(profile);
  const subject = enforceSubject(profile, input.subject);
  const sans = enforceSans(profile, input.sans, subject);
  if (input.authorizedIdentifiers) checkAuthorization(profile, input.authorizedIdentifiers, sans, subject);
  const keyUsage = [...new Set(profile.keyUsage)];
  const bc = profile.basicConstraints;
  return {
    subject,
    sans,
    keyUsage: input.key ? keyUsageForKey(profile, keyUsage, input.key) : keyUsage,
    extendedKeyUsage,
    basicConstraints: bc.pathLength === undefined ? { ca: bc.ca } : { ca: bc.ca, pathLength: bc.pathLength },
    policies: [...profile.policies],
  };
}
