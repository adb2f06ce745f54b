import { BlockList, isIP } from 'node:net';
import type { Context as HonoContext } from 'hono';
import { BadRequest } from '../issuance/errors.ts';

/*
 * TEMPORARY local implementations behind the seam's HttpHelpers, replaced by the input helper's
 * src/http/client-address.ts and src/http/body.ts once those land in main.
 */

/** The socket peer, or X-Forwarded-For walked right to left over trusted proxies (addresses or CIDR). */
export function clientAddress(c: HonoContext, trustedProxies: string[]): string {
  const peer = normalise((c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress ?? '');
  if (trustedProxies.length === 0) return peer;
  const trusted = new BlockList();
  for (const t of trustedProxies) {
    const [addr, bits] = t.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(addr)) continue;
    if (bits !== undefined) trusted.addSubnet(addr, Number(bits), family);
    else trusted.addAddress(addr, family);
  }
  const isTrusted = (a: string) => isIP(a) !== 0 && trusted.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
  if (!isTrusted(peer)) return peer;
  const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((h) => normalise(h.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!isTrusted(hops[i])) return hops[i];
  return hops[0] ?? peer;
}

function normalise(a: string): string {
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** The body's bytes, refused (BadRequest) when larger than maxBytes. */
export async function readRawBody(c: HonoContext, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (declared > maxBytes) throw new BadRequest(`request body larger than ${maxBytes} bytes`);
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (body.length > maxBytes) throw new BadRequest(`request body larger than ${maxBytes} bytes`);
  return body;
}

/** A JSON body within size and nesting limits, without NUL characters or lone surrogates in its strings. */
export async function readJsonBody(c: HonoContext, opts: { maxBytes: number; maxDepth: number }): Promise<unknown> {
  const raw = await readRawBody(c, opts.maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new BadRequest('the request body is not UTF-8');
  }
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (++depth > opts.maxDepth) throw new BadRequest(`JSON nested deeper than ${opts.maxDepth}`);
    } else if (ch === '}' || ch === ']') depth--;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest('the request body is not valid JSON');
  }
  checkStrings(value);
  return value;
}

function checkStrings(v: unknown): void {
  if (typeof v === 'string') {
    if (v.includes('\0')) throw new BadRequest('a string holds a NUL character');
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(v)) throw new BadRequest('a string holds a lone surrogate');
  } else if (Array.isArray(v)) v.forEach(checkStrings);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (checkStrings(k), checkStrings(x));
}
