/**
 * Subject and subjectAltName lints: RFC 5280 §4.1.2.6, §4.2.1.6; CA/B BR §7.1.2.7.12 (SAN
 * present, CN among the SANs), §7.1.4.2 (DNS names: preferred name syntax, A-labels only,
 * no underscores, wildcard only as the whole leftmost label).
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { ekuOids, ext } from '../pki/oids.ts';
import type { Lint, LintRules, LintSubject } from './types.ts';

const LDH = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Why a dNSName is not a valid preferred-syntax name of A-labels, or undefined. */
export function dnsNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  if (!/^[\x21-\x7e]+$/.test(name)) return 'has characters outside printable ASCII (U-labels must be A-labels)';
  if (name.endsWith('.')) return 'ends with a dot';
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === '*') {
      if (i !== 0) return 'has a wildcard that is not the leftmost label';
      if (labels.length < 3) return 'has a wildcard over fewer than two labels';
      continue;
    }
    if (l.includes('_')) return `has an underscore in label "${l}"`;
    if (l.includes('*')) return `has a wildcard inside label "${l}"`;
    if (!LDH.test(l)) return `has label "${l}" that is not letters, digits and inner hyphens`;
    if (l.length >= 4 && l[2] === '-' && l[3] === '-') {
      if (!/^xn--/i.test(l)) return `has reserved label "${l}" (a hyphen pair in positions 3-4 is for xn-- A-labels only)`;
      // A valid A-label converts to Unicode and back to itself.
      const back = domainToASCII(l.toLowerCase());
      if (back !== l.toLowerCase()) return `has label "${l}" that is not a valid IDNA A-label`;
    }
  }
  if (isIP(name)) return 'is an IP address';
  return undefined;
}

function isServer(c: LintSubject, r: LintRules): boolean {
  return r.tlsServer && (c.extendedKeyUsage()?.includes(ekuOids.serverAuth) ?? false);
}

const emptyName = (subject: Uint8Array) => subject.length === 2; // SEQUENCE {} is 30 00

export const nameLints: Lint[] = [
  {
    name: 'san.present',
    source: 'CA/B BR §7.1.2.7.12',
    check: (c, r) => (isServer(c, r) && !(c.sans()?.length) ? 'a TLS server certificate needs a subjectAltName' : undefined),
  },
  {
    name: 'san.notEmpty',
    source: 'RFC 5280 §4.2.1.6',
    check: (c) => ((c.ext.get(ext.subjectAltName)?.value.length ?? 3) <= 2 ? 'subjectAltName is empty' : undefined),
  },
  {
    name: 'subject.empty',
    source: 'RFC 5280 §4.1.2.6, §4.2.1.6',
    check: (c) => {
      const empty = emptyName(c.tbs.subject);
      const san = c.ext.get(ext.subjectAltName);
      if (empty && !san) return 'the subject is empty and there is no subjectAltName';
      if (empty && !san!.critical) return 'the subject is empty, so subjectAltName must be critical';
      if (!empty && san?.critical) return 'subjectAltName must not be critical when the subject is not empty';
      return undefined;
    },
  },
  {
    name: 'subject.cnInSans',
    source: 'CA/B BR §7.1.2.7.12, §7.1.4.3',
    check: (c, r) => {
      if (!isServer(c, r)) return undefined;
      const sans = c.sans() ?? [];
      for (const a of c.subject()) {
        if (a.type !== 'CN') continue;
        // A CN may spell an internationalised name with U-labels; the SAN holds its A-labels.
        const cn = (/[^\x00-\x7f]/.test(a.value) ? domainToASCII(a.value) : a.value).toLowerCase();
        const hit = sans.some((s) => (s.type === 'dns' || s.type === 'ip') && s.value.toLowerCase() === cn);
        if (!hit) return `the subject CN "${a.value.slice(0, 64)}" is not among the subjectAltNames`;
      }
      return undefined;
    },
  },
  {
    name: 'san.dns.syntax',
    source: 'RFC 5280 §4.2.1.6, CA/B BR §7.1.4.2',
    check: (c) => {
      for (const s of c.sans() ?? []) {
        if (s.type !== 'dns') continue;
        const p = dnsNameProblem(s.value);
        if (p) return `dNSName "${s.value.slice(0, 100)}" ${p}`;
      }
      return undefined;
    },
  },
  {
    name: 'san.email.syntax',
    source: 'RFC 5280 §4.2.1.6',
    check: (c) => {
      for (const s of c.sans() ?? []) {
        if (s.type !== 'email') continue;
        const at = s.value.lastIndexOf('@');
        if (at <= 0 || !/^[\x21-\x7e]+$/.test(s.value) || dnsNameProblem(s.value.slice(at + 1))) {
          return `rfc822Name "${s.value.slice(0, 100)}" is not local@domain in ASCII`;
        }
      }
      return undefined;
    },
  },
];
