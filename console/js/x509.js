// A small DER reader for the certificate detail view: enough of X.509 (RFC 5280) to show what a
// certificate says — names, validity, key, and each extension decoded where it is a common one.

const OIDS = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.5': 'serialNumber',
  '2.5.4.4': 'SN', '2.5.4.42': 'GN', '2.5.4.12': 'title', '0.9.2342.19200300.100.1.25': 'DC', '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.1': 'UID', '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.1.1': 'rsaEncryption', '1.2.840.10045.2.1': 'id-ecPublicKey', '1.3.101.112': 'Ed25519', '1.3.101.113': 'Ed448',
  '1.2.840.10045.3.1.7': 'P-256', '1.3.132.0.34': 'P-384', '1.3.132.0.35': 'P-521',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption', '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption', '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS', '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256', '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384', '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '2.5.29.14': 'Subject Key Identifier', '2.5.29.15': 'Key Usage', '2.5.29.17': 'Subject Alternative Name', '2.5.29.19': 'Basic Constraints',
  '2.5.29.31': 'CRL Distribution Points', '2.5.29.32': 'Certificate Policies', '2.5.29.35': 'Authority Key Identifier', '2.5.29.37': 'Extended Key Usage',
  '1.3.6.1.5.5.7.1.1': 'Authority Information Access', '1.3.6.1.4.1.11129.2.4.2': 'CT Precertificate SCTs', '1.3.6.1.5.5.7.48.1.5': 'OCSP No Check',
  '2.5.29.30': 'Name Constraints', '2.5.29.46': 'Freshest CRL',
  '1.3.6.1.5.5.7.3.1': 'serverAuth', '1.3.6.1.5.5.7.3.2': 'clientAuth', '1.3.6.1.5.5.7.3.3': 'codeSigning', '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping', '1.3.6.1.5.5.7.3.9': 'OCSPSigning', '1.3.6.1.5.5.7.3.17': 'ipsecIKE', '1.3.6.1.5.5.7.3.28': 'cmcRA',
  '1.3.6.1.5.5.7.48.1': 'OCSP', '1.3.6.1.5.5.7.48.2': 'CA Issuers', '2.23.140.1.2.1': 'DV', '2.23.140.1.2.2': 'OV', '2.5.29.32.0': 'anyPolicy',
};
const KEY_USAGE = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];

export const oidName = (o) => OIDS[o] ?? o;

export function pemToDer(pem) {
  const b64 = pem.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, '');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function tlv(b, pos) {
  const tag = b[pos];
  let len = b[pos + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[pos + 2 + i];
    hdr += n;
  }
  if (pos + hdr + len > b.length) throw new Error('truncated DER');
  return { tag, start: pos + hdr, end: pos + hdr + len, next: pos + hdr + len, bytes: b.subarray(pos + hdr, pos + hdr + len), raw: b.subarray(pos, pos + hdr + len) };
}
function kids(b, t) {
  const out = [];
  for (let p = t.start; p < t.end; ) { const c = tlv(b, p); out.push(c); p = c.next; }
  return out;
}
const hex = (u, sep = ':') => [...u].map((x) => x.toString(16).padStart(2, '0')).join(sep).toUpperCase();
const text = (u) => new TextDecoder().decode(u);
function oid(u) {
  const parts = [Math.floor(u[0] / 40), u[0] % 40];
  let v = 0;
  for (let i = 1; i < u.length; i++) { v = v * 128 + (u[i] & 0x7f); if (!(u[i] & 0x80)) { parts.push(v); v = 0; } }
  return parts.join('.');
}
function time(t) {
  const s = text(t.bytes);
  const full = t.tag === 0x17 ? (Number(s.slice(0, 2)) >= 50 ? '19' : '20') + s : s;
  return new Date(`${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}T${full.slice(8, 10)}:${full.slice(10, 12)}:${full.slice(12, 14)}Z`);
}
function name(b, t) {
  return kids(b, t).map((rdn) => kids(b, rdn).map((atv) => {
    const [o, v] = kids(b, atv);
    return `${oidName(oid(o.bytes))}=${v.tag === 0x1e ? new TextDecoder('utf-16be').decode(v.bytes) : text(v.bytes)}`;
  }).join('+')).join(', ');
}
function generalName(b, g) {
  const k = g.tag & 0x1f;
  if (k === 1) return `email:${text(g.bytes)}`;
  if (k === 2) return `DNS:${text(g.bytes)}`;
  if (k === 6) return `URI:${text(g.bytes)}`;
  if (k === 7) return `IP:${g.bytes.length === 4 ? [...g.bytes].join('.') : hex(g.bytes, '').match(/.{4}/g).join(':').toLowerCase()}`;
  if (k === 4) return `DirName:${name(b, tlv(b, g.start))}`;
  return `[${k}]`;
}
const generalNames = (b, t) => kids(b, t).map((g) => generalName(b, g));

function extension(b, oidStr, v) {
  const t = tlv(b, v.start);
  switch (oidStr) {
    case '2.5.29.17': return generalNames(b, t).join(', ');
    case '2.5.29.15': {
      const bits = t.bytes.slice(1);
      return KEY_USAGE.filter((_, i) => bits[i >> 3] & (0x80 >> (i & 7))).join(', ');
    }
    case '2.5.29.37': return kids(b, t).map((k) => oidName(oid(k.bytes))).join(', ');
    case '2.5.29.19': {
      const k = kids(b, t);
      const ca = k.find((x) => x.tag === 0x01);
      const pl = k.find((x) => x.tag === 0x02);
      return `CA:${ca && ca.bytes[0] ? 'TRUE' : 'FALSE'}${pl ? `, pathlen:${pl.bytes.reduce((a, x) => a * 256 + x, 0)}` : ''}`;
    }
    case '2.5.29.14': return hex(t.bytes);
    case '2.5.29.35': { const k = kids(b, t).find((x) => (x.tag & 0x1f) === 0); return k ? `keyid:${hex(k.bytes)}` : ''; }
    case '1.3.6.1.5.5.7.1.1': return kids(b, t).map((ad) => { const [m, loc] = kids(b, ad); return `${oidName(oid(m.bytes))} - ${generalName(b, loc)}`; }).join('; ');
    case '2.5.29.31': return [...text(v.bytes).matchAll(/https?:\/\/[\x21-\x7e]+/g)].map((m) => `URI:${m[0]}`).join(', ');
    case '2.5.29.32': return kids(b, t).map((p) => oidName(oid(kids(b, p)[0].bytes))).join(', ');
    default: return hex(v.bytes.subarray(0, 48)) + (v.bytes.length > 48 ? '…' : '');
  }
}

/** The fields of a DER certificate, as strings ready to show. */
export function decodeCertificate(der) {
  const cert = tlv(der, 0);
  const [tbs, sigAlg] = kids(der, cert);
  let f = kids(der, tbs);
  let version = 1;
  if (f[0].tag === 0xa0) { version = tlv(der, f[0].start).bytes[0] + 1; f = f.slice(1); }
  const [serial, , issuer, validity, subject, spki, ...rest] = f;
  const [nb, na] = kids(der, validity);
  const [algo, keyBits] = kids(der, spki);
  const [algOid, param] = kids(der, algo);
  const keyAlg = oidName(oid(algOid.bytes));
  let key = keyAlg;
  if (param && param.tag === 0x06) key += ` ${oidName(oid(param.bytes))}`;
  if (keyAlg === 'rsaEncryption') {
    const [mod] = kids(der, tlv(der, keyBits.start + 1));
    key += ` ${(mod.bytes[0] === 0 ? mod.bytes.length - 1 : mod.bytes.length) * 8} bit`;
  }
  const extWrap = rest.find((x) => x.tag === 0xa3);
  const extensions = extWrap ? kids(der, tlv(der, extWrap.start)).map((e) => {
    const k = kids(der, e);
    const id = oid(k[0].bytes);
    const critical = k.length === 3 && k[1].tag === 0x01 && k[1].bytes[0] !== 0;
    let value;
    try { value = extension(der, id, k[k.length - 1]); } catch { value = hex(k[k.length - 1].bytes); }
    return { oid: id, name: oidName(id), critical, value };
  }) : [];
  return {
    version,
    serial: hex(serial.bytes[0] === 0 && serial.bytes.length > 1 ? serial.bytes.subarray(1) : serial.bytes, '').toLowerCase(),
    signatureAlgorithm: oidName(oid(kids(der, sigAlg)[0].bytes)),
    issuer: name(der, issuer),
    subject: name(der, subject),
    notBefore: time(nb),
    notAfter: time(na),
    publicKey: key,
    extensions,
  };
}

/** SHA-256 fingerprint (only in a secure context: https, or http on localhost). */
export async function fingerprint(der) {
  if (!crypto.subtle) return null;
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', der)));
}
