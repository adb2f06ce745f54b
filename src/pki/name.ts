/**
 * X.501 Names: DER encoding/decoding and RFC 4514 string form.
 *
 * Order conventions: `SubjectAttribute[]` / `EncodedAttribute[]` arrays are always in DER order
 * (most significant first, e.g. C, O, CN). RFC 4514 strings are written in reverse (CN first).
 * Multi-valued RDNs are flattened on decode; `encodeName` writes one attribute per RDN.
 */
import type { SubjectAttribute } from '../issuance/request.ts';
import { attributeOid, attributeOids, attributeShortName } from './oids.ts';
import {
  Tag,
  children,
  decodeOid,
  expectTlv,
  ia5String,
  isIa5,
  isPrintable,
  oid,
  printableString,
  readTlv,
  seq,
  set,
  tlvBytes,
  utf8String,
} from './der.ts';

export type StringEncoding = 'utf8' | 'printable' | 'ia5';
export interface EncodedAttribute {
  oid: string;
  value: string;
  encoding: StringEncoding;
}

function encodeValue(a: EncodedAttribute): Buffer {
  switch (a.encoding) {
    case 'utf8':
      return utf8String(a.value);
    case 'printable':
      return printableString(a.value);
    case 'ia5':
      return ia5String(a.value);
    default:
      throw new Error(`Name: unknown string encoding ${(a as EncodedAttribute).encoding}`);
  }
}

/** DER Name with one RDN per attribute, in the given (DER) order. */
export function encodeName(attrs: EncodedAttribute[]): Buffer {
  const rdns: Buffer[] = new Array(attrs.length);
  for (let i = 0; i < attrs.length; i++) {
    rdns[i] = set(seq(oid(attrs[i].oid), encodeValue(attrs[i])));
  }
  return seq(...rdns);
}

const PRINTABLE_ONLY = new Set([attributeOids.C, attributeOids.serialNumber, attributeOids.dnQualifier]);
const IA5_ONLY = new Set([attributeOids.E, attributeOids.DC]);

/**
 * The RFC 5280 string choice for an attribute: PrintableString for C, serialNumber, dnQualifier;
 * IA5String for emailAddress and domainComponent; UTF8String otherwise.
 */
export function defaultEncoding(oidStr: string, value: string): StringEncoding {
  if (PRINTABLE_ONLY.has(oidStr)) {
    if (!isPrintable(value)) throw new Error(`Name: ${attributeShortName(oidStr)} must be a PrintableString: "${value}"`);
    return 'printable';
  }
  if (IA5_ONLY.has(oidStr)) {
    if (!isIa5(value)) throw new Error(`Name: ${attributeShortName(oidStr)} must be ASCII (IA5String): "${value}"`);
    return 'ia5';
  }
  return 'utf8';
}

/** SubjectAttribute[] (short names or OIDs) → EncodedAttribute[] with RFC 5280 string choices. */
export function toEncodedAttributes(attrs: SubjectAttribute[]): EncodedAttribute[] {
  return attrs.map((a) => {
    const o = attributeOid(a.type);
    if (!o) throw new Error(`Name: unknown attribute type "${a.type}"`);
    if (o === attributeOids.C && !/^[A-Za-z]{2}$/.test(a.value)) {
      throw new Error(`Name: C must be a two-letter country code: "${a.value}"`);
    }
    return { oid: o, value: a.value, encoding: defaultEncoding(o, a.value) };
  });
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a DirectoryString-like value. Returns undefined for non-string types.
 * TeletexString is read as Latin-1 (what issuers actually put there).
 */
export function decodeDirectoryString(tag: number, bytes: Uint8Array): string | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (tag) {
    case Tag.UTF8_STRING:
      return utf8Decoder.decode(b);
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.VISIBLE_STRING:
    case Tag.NUMERIC_STRING:
    case Tag.TELETEX_STRING:
      return b.toString('latin1');
    case Tag.BMP_STRING: {
      if (b.length % 2) throw new Error('Name: odd-length BMPString');
      const sw = Buffer.from(b);
      sw.swap16();
      return sw.toString('utf16le');
    }
    case Tag.UNIVERSAL_STRING: {
      if (b.length % 4) throw new Error('Name: UniversalString length not a multiple of 4');
      let s = '';
      for (let i = 0; i < b.length; i += 4) s += String.fromCodePoint(b.readUInt32BE(i));
      return s;
    }
    default:
      return undefined;
  }
}

/**
 * DER Name → attributes in DER order (multi-valued RDNs flattened). Types are short names from
 * oids.ts when known, else dotted OIDs. A value of a non-string type is given as `#` + hex of its
 * DER encoding (RFC 4514 §2.4).
 */
export function decodeName(der: Uint8Array): SubjectAttribute[] {
  const name = expectTlv(der, 0, Tag.SEQUENCE, 'Name');
  if (name.end !== der.length) throw new Error('Name: trailing data after Name');
  const out: SubjectAttribute[] = [];
  for (const rdn of children(der, name.start, name.end)) {
    if (rdn.tag !== Tag.SET) throw new Error('Name: RDN is not a SET');
    let count = 0;
    for (const atv of children(der, rdn.start, rdn.end)) {
      if (atv.tag !== Tag.SEQUENCE) throw new Error('Name: AttributeTypeAndValue is not a SEQUENCE');
      const t = expectTlv(der, atv.start, Tag.OID, 'attribute type');
      const v = readTlv(der, t.end);
      if (v.end !== atv.end) throw new Error('Name: malformed AttributeTypeAndValue');
      const dotted = decodeOid(der, t.start, t.end);
      const s = decodeDirectoryString(v.tag, der.subarray(v.start, v.end));
      out.push({
        type: attributeShortName(dotted) ?? dotted,
        value: s ?? '#' + Buffer.from(tlvBytes(der, v)).toString('hex'),
      });
      count++;
    }
    if (count === 0) throw new Error('Name: empty RDN');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// RFC 4514 strings
// ---------------------------------------------------------------------------------------------

function escapeValue(v: string): string {
  let out = '';
  const n = v.length;
  for (let i = 0; i < n; i++) {
    const c = v[i];
    const code = v.charCodeAt(i);
    if (c === '"' || c === '+' || c === ',' || c === ';' || c === '<' || c === '>' || c === '\\') {
      out += '\\' + c;
    } else if ((c === ' ' && (i === 0 || i === n - 1)) || (c === '#' && i === 0)) {
      out += '\\' + c;
    } else if (code < 0x20 || code === 0x7f) {
      out += '\\' + code.toString(16).padStart(2, '0').toUpperCase();
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * RFC 4514 string of attributes given in DER order: the reverse order, comma-separated, values
 * escaped per §2.4. E.g. `CN=host.example,O=Acme\, Inc.,C=IN`.
 */
export function formatName(attrs: SubjectAttribute[]): string {
  const parts: string[] = [];
  for (let i = attrs.length - 1; i >= 0; i--) {
    const a = attrs[i];
    const type = attributeShortName(a.type) ?? a.type;
    parts.push(`${type}=${escapeValue(a.value)}`);
  }
  return parts.join(',');
}

class DnParser {
  pos = 0;
  constructor(readonly s: string) {}

  fail(msg: string): never {
    throw new Error(`Invalid DN "${this.s}": ${msg} at position ${this.pos}`);
  }

  skipSpaces(): void {
    while (this.pos < this.s.length && this.s[this.pos] === ' ') this.pos++;
  }

  /** Attribute type: keyword, dotted OID, or `OID.` + dotted OID. */
  type(stops: string): string {
    const start = this.pos;
    while (this.pos < this.s.length && !stops.includes(this.s[this.pos]) && this.s[this.pos] !== ' ') this.pos++;
    let raw = this.s.slice(start, this.pos);
    if (!raw) this.fail('expected an attribute type');
    if (/^oid\./i.test(raw)) raw = raw.slice(4);
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(raw) && !/^\d+(\.\d+)+$/.test(raw)) {
      this.pos = start;
      this.fail(`malformed attribute type "${raw}"`);
    }
    const short = attributeShortName(raw);
    if (!short) {
      this.pos = start;
      this.fail(`unknown attribute type "${raw}"`);
    }
    return short;
  }

  /** Reads the `\` escape at pos (pointing at the backslash) and appends its bytes. */
  escape(bytes: number[]): void {
    const s = this.s;
    const next = s[this.pos + 1];
    if (next === undefined) this.fail('dangling backslash');
    const hex = s.slice(this.pos + 1, this.pos + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      this.pos += 3;
      return;
    }
    const cp = s.codePointAt(this.pos + 1)!;
    pushUtf8(bytes, String.fromCodePoint(cp));
    this.pos += 1 + (cp > 0xffff ? 2 : 1);
  }

  /** RFC 4514 value up to an unescaped separator in `stops`. */
  value(stops: string): string {
    const s = this.s;
    if (s[this.pos] === '#') this.fail('hex-encoded (#...) attribute values are not supported');
    const bytes: number[] = [];
    if (s[this.pos] === '"') {
      // RFC 2253 quoted form.
      this.pos++;
      for (;;) {
        if (this.pos >= s.length) this.fail('unterminated quoted value');
        const c = s[this.pos];
        if (c === '"') {
          this.pos++;
          break;
        }
        if (c === '\\') this.escape(bytes);
        else {
          const cp = s.codePointAt(this.pos)!;
          pushUtf8(bytes, String.fromCodePoint(cp));
          this.pos += cp > 0xffff ? 2 : 1;
        }
      }
      this.skipSpaces();
      if (this.pos < s.length && !stops.includes(s[this.pos])) this.fail('unexpected character after quoted value');
      return decodeUtf8(bytes, this);
    }
    let keep = 0; // bytes.length up to the last escaped or non-space char
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (stops.includes(c)) break;
      if (c === '\\') {
        this.escape(bytes);
        keep = bytes.length;
        continue;
      }
      if (c === '"') this.fail('unescaped quote in value');
      const cp = s.codePointAt(this.pos)!;
      pushUtf8(bytes, String.fromCodePoint(cp));
      this.pos += cp > 0xffff ? 2 : 1;
      if (c !== ' ') keep = bytes.length;
    }
    bytes.length = keep; // trailing unescaped spaces are not part of the value
    return decodeUtf8(bytes, this);
  }
}

function pushUtf8(bytes: number[], ch: string): void {
  const code = ch.codePointAt(0)!;
  if (code < 0x80) bytes.push(code);
  else for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
}

function decodeUtf8(bytes: number[], p: DnParser): string {
  try {
    return utf8Decoder.decode(Uint8Array.from(bytes));
  } catch {
    return p.fail('escaped bytes are not valid UTF-8');
  }
}

/**
 * Parses an RFC 4514 DN (`CN=host,O=Acme\, Inc.,C=IN`) or the OpenSSL slash form
 * (`/C=IN/O=Acme/CN=host`, already in DER order) into attributes in DER order. Multi-valued RDNs
 * (`+`) are flattened. Accepts spaces around `=`, `,` and `+`, `;` as a separator, quoted values,
 * `\` escapes (special characters and `\XX` hex UTF-8 bytes). Rejects `#hex` values, unknown
 * attribute keywords, and malformed input with an Error naming the position.
 */
export function parseDn(input: string): SubjectAttribute[] {
  const s = input.trimStart(); // trailing spaces may be escaped: the parsers handle them
  if (s.trim() === '') return [];
  return s.startsWith('/') ? parseSlash(s) : parseRfc4514(s);
}

function parseRfc4514(s: string): SubjectAttribute[] {
  const p = new DnParser(s);
  const rdns: SubjectAttribute[][] = [];
  let rdn: SubjectAttribute[] = [];
  for (;;) {
    p.skipSpaces();
    const type = p.type('=,+;');
    p.skipSpaces();
    if (s[p.pos] !== '=') p.fail(`expected "=" after "${type}"`);
    p.pos++;
    p.skipSpaces();
    const value = p.value(',+;');
    rdn.push({ type, value });
    if (p.pos >= s.length) {
      rdns.push(rdn);
      break;
    }
    const sep = s[p.pos++];
    if (sep !== '+') {
      rdns.push(rdn);
      rdn = [];
    }
    p.skipSpaces();
    if (p.pos >= s.length) p.fail(`DN ends with "${sep}"`);
  }
  return rdns.reverse().flat();
}

function parseSlash(s: string): SubjectAttribute[] {
  const p = new DnParser(s);
  const out: SubjectAttribute[] = [];
  p.pos = 1;
  for (;;) {
    const start = p.pos;
    const type = p.type('=/+');
    if (s[p.pos] !== '=') p.fail(`expected "=" after "${s.slice(start, p.pos)}"`);
    p.pos++;
    // In the slash form a backslash escapes any single character; no trimming of values.
    const bytes: number[] = [];
    while (p.pos < s.length && s[p.pos] !== '/' && s[p.pos] !== '+') {
      if (s[p.pos] === '\\') {
        if (p.pos + 1 >= s.length) p.fail('dangling backslash');
        p.pos++;
      }
      const cp = s.codePointAt(p.pos)!;
      pushUtf8(bytes, String.fromCodePoint(cp));
      p.pos += cp > 0xffff ? 2 : 1;
    }
    out.push({ type, value: decodeUtf8(bytes, p) });
    if (p.pos >= s.length) break;
    p.pos++; // '/' or '+'
    if (p.pos >= s.length) break; // tolerate one trailing '/'
    if (s[p.pos] === '/') p.fail('empty RDN');
  }
  return out;
}
