/**
 * PKCS#11 URIs (RFC 7512), the keyRef of a key held in a token:
 * `pkcs11:token=Certgate;id=%01%02;object=issuer-ops;type=private`.
 * Path attributes are `;`-separated `name=value` pairs, values percent-encoded (UTF-8); `id` is a
 * byte string. Query attributes (after `?`, e.g. `pin-value`) are refused: a key reference must
 * never carry a PIN, and the module and PIN come from the settings.
 */

export interface Pkcs11Uri {
  token?: string;
  object?: string;
  /** CKA_ID bytes. */
  id?: Buffer;
  type?: 'private' | 'public' | 'cert' | 'secret-key' | 'data';
  serial?: string;
  manufacturer?: string;
  model?: string;
  slotId?: number;
}

export class Pkcs11UriError extends Error {}

const textAttrs = { token: 'token', object: 'object', serial: 'serial', manufacturer: 'manufacturer', model: 'model' } as const;
const types = ['private', 'public', 'cert', 'secret-key', 'data'] as const;

export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(uri)) throw new Pkcs11UriError('a PKCS#11 URI starts with "pkcs11:"');
  const rest = uri.slice(7);
  if (rest.includes('?')) throw new Pkcs11UriError('query attributes (pin-value, module-path …) are not accepted in a key reference');
  const out: Pkcs11Uri = {};
  const seen = new Set<string>();
  for (const part of rest.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Pkcs11UriError(`"${part}" is not name=value`);
    const name = part.slice(0, eq).toLowerCase();
    const raw = part.slice(eq + 1);
    if (seen.has(name)) throw new Pkcs11UriError(`attribute "${name}" appears twice`);
    seen.add(name);
    const bytes = pctDecode(raw);
    if (name === 'id') out.id = bytes;
    else if (name === 'type') {
      const t = bytes.toString('utf8');
      if (!(types as readonly string[]).includes(t)) throw new Pkcs11UriError(`type "${t}" is not one of ${types.join(', ')}`);
      out.type = t as Pkcs11Uri['type'];
    } else if (name === 'slot-id') {
      const s = bytes.toString('utf8');
      if (!/^\d{1,10}$/.test(s)) throw new Pkcs11UriError('slot-id must be a decimal number');
      out.slotId = Number(s);
    } else if (name in textAttrs) {
      const v = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      out[name as keyof typeof textAttrs] = v;
    }
    // Other RFC 7512 attributes (library-*, slot-description …) do not narrow a key here: ignored, as §2.3 allows.
  }
  if (out.object === undefined && out.id === undefined) throw new Pkcs11UriError('a key reference needs object= or id=');
  return out;
}

/** The canonical form: token, id, object, type, in that order, every byte outside RFC 7512's pchar set percent-encoded. */
export function formatPkcs11Uri(u: Pkcs11Uri): string {
  const parts: string[] = [];
  if (u.token !== undefined) parts.push(`token=${pctEncode(Buffer.from(u.token, 'utf8'))}`);
  if (u.serial !== undefined) parts.push(`serial=${pctEncode(Buffer.from(u.serial, 'utf8'))}`);
  if (u.slotId !== undefined) parts.push(`slot-id=${u.slotId}`);
  if (u.id !== undefined) parts.push(`id=${[...u.id].map((b) => '%' + b.toString(16).padStart(2, '0').toUpperCase()).join('')}`);
  if (u.object !== undefined) parts.push(`object=${pctEncode(Buffer.from(u.object, 'utf8'))}`);
  if (u.type !== undefined) parts.push(`type=${u.type}`);
  return `pkcs11:${parts.join(';')}`;
}

/** RFC 7512 p-pchar: unreserved / ":" / "[" / "]" / "@" / "!" / "$" / "'" / "(" / ")" / "*" / "+" / "," / "=" / "&" (no ";", "/", "?", "%"). */
const safe = /^[A-Za-z0-9\-._~:[\]@!$'()*+,=&]$/;

function pctEncode(b: Buffer): string {
  let s = '';
  for (const byte of b) {
    const c = String.fromCharCode(byte);
    s += byte < 0x80 && safe.test(c) ? c : '%' + byte.toString(16).padStart(2, '0').toUpperCase();
  }
  return s;
}

function pctDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Pkcs11UriError(`bad percent-encoding at "${s.slice(i, i + 3)}"`);
      out.push(parseInt(h, 16));
      i += 2;
    } else if (c === '/' || c === '?' || c === '#') {
      throw new Pkcs11UriError(`"${c}" must be percent-encoded`);
    } else {
      out.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(out);
}
