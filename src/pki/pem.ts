/** PEM (RFC 7468) encoding and decoding. */

/** `-----BEGIN label-----`, base64 in 64-character lines, `-----END label-----`, trailing newline. */
export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 #-]*)-----([\s\S]*?)-----END ([A-Z0-9 #-]*)-----/g;

/**
 * Every PEM block in `text` whose label equals `label` (all blocks when `label` is omitted), decoded,
 * in order. Explanatory text between blocks is ignored. Throws on a block with invalid base64 or
 * mismatched BEGIN/END labels.
 */
export function fromPem(text: string, label?: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m;
    if (begin !== end) throw new Error(`PEM: BEGIN ${begin} closed by END ${end}`);
    if (label !== undefined && begin !== label) continue;
    // RFC 7468 lax parsing: ignore whitespace; tolerate (and skip) RFC 1421 headers.
    const lines = body.split(/\r?\n/).filter((l) => !/^[A-Za-z-]+:/.test(l.trim()));
    const b64 = lines.join('').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) {
      throw new Error(`PEM: invalid base64 in ${begin} block`);
    }
    out.push(Buffer.from(b64, 'base64'));
  }
  return out;
}
