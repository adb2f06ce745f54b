import type { Context as HonoContext } from 'hono';
import { BadRequest } from '../issuance/errors.ts';

/**
 * Request bodies and client strings, checked once at the boundary. PostgreSQL text cannot hold NUL
 * and jsonb refuses lone surrogates, so a string carrying either would surface as a database error
 * (a 500) wherever it is stored or compared; JSON nested deeper than any real request is refused
 * before it reaches a recursive walker.
 */

export const DEFAULT_MAX_DEPTH = 64;

export interface JsonLimits {
  /** Largest body in bytes (default: none beyond the server-wide body limit). */
  maxBytes?: number;
  /** Deepest nesting of arrays and objects (default 64). */
  maxDepth?: number;
}

/** What is wrong with a client string that cannot be stored: undefined when it is fine. */
export function badString(s: string): 'a NUL character' | 'a lone surrogate' | undefined {
  if (s.includes('\u0000')) return 'a NUL character';
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return 'a lone surrogate';
  return undefined;
}

/** Throws BadRequest naming `where` when `s` holds NUL or a lone surrogate. */
export function assertStorableString(s: string, where: string): void {
  const bad = badString(s);
  if (bad) throw new BadRequest(`${where}: contains ${bad}`, 'input.string');
}

/** Whether arrays/objects nest deeper than `max`: one pass over the text, no recursion. */
export function jsonTooDeep(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}

/** Every string and key in a parsed JSON value, walked with an explicit stack. */
function assertStorableJson(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') assertStorableString(v, 'body: a string');
    else if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        assertStorableString(k, 'body: a key');
        stack.push(x);
      }
    }
  }
}

/**
 * Parses JSON text from a client: depth limit checked before parsing, then NUL and lone
 * surrogates refused in every string and key. Throws BadRequest (rule `input.json` or
 * `input.string`); callers map it to their protocol's error.
 */
export function parseClientJson(text: string, opts: JsonLimits = {}): unknown {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (jsonTooDeep(text, maxDepth)) throw new BadRequest(`body: JSON nested deeper than ${maxDepth} levels`, 'input.json.depth');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest('body: not valid JSON', 'input.json');
  }
  assertStorableJson(value);
  return value;
}

/**
 * The request body as bytes, at most `maxBytes`. A declared Content-Length over the limit is
 * refused before reading; a body that cannot be read (aborted, truncated) is the client's error.
 */
export async function readRawBody(c: HonoContext, maxBytes?: number): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length'));
  if (maxBytes !== undefined && Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  let buf: ArrayBuffer;
  try {
    buf = await c.req.arrayBuffer();
  } catch (e) {
    if ((e as Error)?.name === 'BodyLimitError') throw tooLarge(maxBytes);
    throw new BadRequest('body: could not be read', 'input.body');
  }
  if (maxBytes !== undefined && buf.byteLength > maxBytes) throw tooLarge(maxBytes);
  return new Uint8Array(buf);
}

/** The request body as client JSON (see parseClientJson); an empty body is a BadRequest. */
export async function readJsonBody(c: HonoContext, opts: JsonLimits = {}): Promise<unknown> {
  const text = new TextDecoder().decode(await readRawBody(c, opts.maxBytes));
  if (!text.trim()) throw new BadRequest('body: a JSON request body is required', 'input.json');
  return parseClientJson(text, opts);
}

function tooLarge(maxBytes: number | undefined): BadRequest {
  return new BadRequest(`body: larger than ${maxBytes ?? 'the server limit of'} bytes`, 'input.body.size');
}
