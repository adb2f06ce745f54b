/**
 * emCA request fields: base64 and CSR content, validity and validFrom, key specs, PKCS#12
 * content lines, subjectDNOids and sANValues — each read into the pipeline's types or refused
 * with the emCA message for that field. Dates and durations written back in emCA's forms.
 */
import type { Identifier, KeySpec, SubjectAttribute, ValidityRequest } from '../../src/issuance/request.ts';
import { parseDateTime, parseDuration } from '../../src/issuance/validity.ts';
import { parseCsr } from '../../src/pki/csr.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { EmcaFailure, M, P } from './messages.ts';

/** Base64 (whitespace tolerated) → bytes; undefined when not base64. */
export function decodeB64(s: string): Buffer | undefined {
  const clean = s.replace(/\s+/g, '');
  if (clean === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined;
  return Buffer.from(clean, 'base64');
}

/** A CSR given as DER, PEM or base64 text of DER (spec §4.4 rule 4). */
export function csrFromContent(content: Uint8Array | string): Buffer {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  if (buf[0] === 0x30) return buf;
  const text = buf.toString('utf8').trim();
  if (text.includes('-----BEGIN')) {
    const blocks = fromPem(text);
    if (blocks.length) return blocks[0];
  }
  const der = decodeB64(text);
  if (der && der[0] === 0x30) return der;
  throw new EmcaFailure(M.invalidCsr);
}

/** Parses and checks a CSR's self-signature; "Invalid CSR" otherwise. */
export function checkCsr(der: Buffer): Buffer {
  try {
    const csr = parseCsr(der);
    if (!csr.signatureValid) throw new Error('bad signature');
  } catch {
    throw new EmcaFailure(M.invalidCsr);
  }
  return der;
}

export function secondsToDhms(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${d}:${h}:${m}:${s % 60}`;
}

const p2 = (n: number) => String(n).padStart(2, '0');
/** `dd:MM:yyyy HH:mm:ss` (UTC), emCA's date format. */
export function emcaDate(d: Date): string {
  return `${p2(d.getUTCDate())}:${p2(d.getUTCMonth() + 1)}:${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

/** `validity` (D:H:M:S) and `validFrom` (dd:MM:yyyy HH:mm:ss) → a ValidityRequest, or the documented errors. */
export function validityFrom(validity: unknown, validFrom: unknown): ValidityRequest | undefined {
  const out: ValidityRequest = {};
  if (validity !== undefined && validity !== null && validity !== '') {
    if (typeof validity !== 'string' || !/^\d{1,5}:\d{1,2}:\d{1,2}:\d{1,2}$/.test(validity.trim())) throw new EmcaFailure(M.invalidValidity);
    try {
      parseDuration(validity.trim());
    } catch {
      throw new EmcaFailure(M.invalidValidity);
    }
    out.duration = validity.trim();
  }
  if (validFrom !== undefined && validFrom !== null && validFrom !== '') {
    if (typeof validFrom !== 'string' || !/^\d{2}:\d{2}:\d{4} \d{2}:\d{2}:\d{2}$/.test(validFrom.trim())) throw new EmcaFailure(M.invalidValidFrom);
    try {
      parseDateTime(validFrom.trim());
    } catch {
      throw new EmcaFailure(M.invalidValidFrom);
    }
    out.notBefore = validFrom.trim();
  }
  return out.duration !== undefined || out.notBefore !== undefined ? out : undefined;
}

const keySpecs: Record<string, KeySpec> = {
  'RSA-2048': { type: 'RSA', bits: 2048 },
  'RSA-3072': { type: 'RSA', bits: 3072 },
  'RSA-4096': { type: 'RSA', bits: 4096 },
  'EC-P256': { type: 'EC', curve: 'P-256' },
  'EC-P-256': { type: 'EC', curve: 'P-256' },
  'ECDSA-256': { type: 'EC', curve: 'P-256' },
  'EC-P384': { type: 'EC', curve: 'P-384' },
  'EC-P-384': { type: 'EC', curve: 'P-384' },
  'ECDSA-384': { type: 'EC', curve: 'P-384' },
};

/**
 * `KeyAlogirthmAndSize` → KeySpec. RSA-1024, which the documents list, is refused like any value
 * Certgate does not generate, with the documents' "Please enter valid data" (below every built-in
 * profile's minimum, NIST SP 800-131A and the CA/B Forum's 2048-bit floor).
 */
export function keySpecFrom(v: string | undefined): KeySpec {
  const spec = v ? keySpecs[v.trim().toUpperCase()] : undefined;
  if (!spec) throw new EmcaFailure(M.invalidKey);
  return spec;
}

const knownKey = (k: string) => {
  const lk = k.trim().toLowerCase();
  return lk === 'password' || lk === 'keyalogirthmandsize' || lk === 'keyalgorithmandsize' || lk in dnKeys || lk in sanKeys || /^\d+(\.\d+)+$/.test(k.trim());
};

/**
 * Splits the createPKCS12 string into its items and the password, by the rule in DIVERGENCES.md:
 * items are separated by `~` (or `,` when the string has no `~` before the password); the
 * `Password` value is taken verbatim (spaces kept); when Password is the last item it runs to
 * the end of the string (one final line break aside) and may itself hold `~` and `,`. A
 * password that holds the separator and is not last cannot be told apart: refused.
 */
export function splitPkcs12Content(text: string): { items: string[]; password?: string } {
  // A subject, a few SANs, a key name and a password: 16 KiB is far beyond any real one.
  if (text.length > 16_384) throw new EmcaFailure(M.invalidData);
  const t = text.replace(/\r?\n$/, '');
  const m = /(^|[~,])[ \t]*password[ \t]*=/i.exec(t);
  const splitItems = (part: string, sep: string) => part.split(sep).map((x) => x.trim()).filter(Boolean);
  if (!m) {
    const sep = t.includes('~') ? '~' : ',';
    return { items: splitItems(t, sep) };
  }
  const head = t.slice(0, m.index);
  const rest = t.slice(m.index + m[0].length);
  const sep = m[1] || (head.includes('~') || rest.includes('~') ? '~' : ',');
  // Password is followed by more items when the separator is followed by a known `key=`.
  let cut = -1;
  for (let i = rest.indexOf(sep); i >= 0; i = rest.indexOf(sep, i + 1)) {
    const after = rest.slice(i + 1, i + 130); // keys are short: look no further
    const eq = after.indexOf('=');
    if (eq > 0 && knownKey(after.slice(0, eq))) {
      cut = i;
      break;
    }
  }
  const password = cut < 0 ? rest : rest.slice(0, cut);
  if (cut >= 0 && password.includes(sep)) throw new EmcaFailure(P.separator);
  const tail = cut < 0 ? [] : splitItems(rest.slice(cut + 1), sep);
  return { items: [...splitItems(head, sep), ...tail], password };
}

const dnKeys: Record<string, string> = {
  cn: 'CN',
  serialnumber: 'serialNumber',
  e: 'E',
  email: 'E',
  emailaddress: 'E',
  o: 'O',
  ou: 'OU',
  s: 'ST',
  st: 'ST',
  l: 'L',
  c: 'C',
  postalcode: 'postalCode',
  street: 'street',
  houseidentifier: '2.5.4.51',
  pseudonym: 'pseudonym',
  phone: '2.5.4.20',
  t: 'title',
  title: 'title',
  uid: 'UID',
  sn: 'SN',
  g: 'GN',
  gn: 'GN',
  givenname: 'GN',
  dc: 'DC',
};

const sanKeys: Record<string, Identifier['type'] | 'unsupported'> = {
  rfc822name: 'email',
  dnsname: 'dns',
  ipaddress: 'ip',
  uniformresourceidentifier: 'uri',
  uri: 'uri',
  registeredid: 'unsupported',
};

/** The createPKCS12 signed string (§4.8): DN items, SAN items, KeyAlogirthmAndSize, Password. */
export function parsePkcs12Content(text: string): { subject: SubjectAttribute[]; sans: Identifier[]; key: KeySpec; password: string } {
  const { items, password } = splitPkcs12Content(text);
  const subject: SubjectAttribute[] = [];
  const sans: Identifier[] = [];
  let key: string | undefined;
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new EmcaFailure(M.invalidSubject);
    const k = item.slice(0, eq).trim();
    const v = item.slice(eq + 1).trim();
    const lk = k.toLowerCase();
    if (lk === 'keyalogirthmandsize' || lk === 'keyalgorithmandsize') key = v;
    else if (sanKeys[lk]) {
      if (sanKeys[lk] === 'unsupported' || !v) throw new EmcaFailure(M.invalidSubject);
      sans.push({ type: sanKeys[lk] as Identifier['type'], value: v });
    } else if (dnKeys[lk] || /^\d+(\.\d+)+$/.test(k)) {
      if (!v) throw new EmcaFailure(M.invalidSubject);
      subject.push({ type: dnKeys[lk] ?? k, value: v });
    } else throw new EmcaFailure(M.invalidSubject);
  }
  if (!subject.some((a) => a.type === 'CN')) throw new EmcaFailure(M.invalidSubject);
  if (password === undefined || password === '') throw new EmcaFailure(M.invalidParameter);
  // A PKCS#12 password is text a person types: a line break or tab here is a client's mistake.
  if (/[\u0000-\u001f\u007f]/.test(password)) throw new EmcaFailure(P.control);
  return { subject, sans, key: keySpecFrom(key), password };
}

/** `subjectDNOids`: `oid|value` pairs joined by `~` (`,` tolerated when there is no `~`). */
export function parseSubjectDnOids(s: unknown): SubjectAttribute[] {
  if (typeof s !== 'string' || s.trim() === '') throw new EmcaFailure(M.invalidSubjectDnOids);
  const t = s.trim();
  const pairs = (t.includes('~') ? t.split('~') : t.split(',')).map((x) => x.trim()).filter(Boolean);
  return pairs.map((p) => {
    const bar = p.indexOf('|');
    if (bar <= 0) throw new EmcaFailure(M.invalidSubjectDnOids);
    const oid = p.slice(0, bar).trim();
    const value = p.slice(bar + 1).trim();
    if (!/^\d+(\.\d+)+$/.test(oid) || value === '') throw new EmcaFailure(M.invalidSubjectDnOids);
    return { type: oid, value };
  });
}

/** `sANValues`: `type=value` items joined by `|`. */
export function parseSanValues(s: unknown): Identifier[] {
  if (s === undefined || s === null) throw new EmcaFailure(M.invalidSanValues);
  if (typeof s !== 'string') throw new EmcaFailure(M.invalidSanValues);
  if (s.trim() === '') return [];
  return s
    .split('|')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((item) => {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new EmcaFailure(M.invalidSanValues);
      const type = sanKeys[item.slice(0, eq).trim().toLowerCase()];
      const value = item.slice(eq + 1).trim();
      if (!type || type === 'unsupported' || !value) throw new EmcaFailure(M.invalidSanValues);
      return { type, value };
    });
}
