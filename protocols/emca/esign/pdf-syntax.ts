/**
 * Just enough PDF syntax (ISO 32000-1 §7.2–7.5) to add a signature as an incremental update:
 * skip one value, split a dictionary into its top-level entries, read indirect references, find
 * an object through classic cross-reference tables (following /Prev). PDFs whose cross-reference
 * data is a stream (PDF 1.5 object streams) are refused with PdfError: see DIVERGENCES.md.
 */

export class PdfError extends Error {}

const WS = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIM = new Set([...'()<>[]{}/%'].map((c) => c.charCodeAt(0)));

export function skipWs(s: string, i: number): number {
  for (;;) {
    while (i < s.length && WS.has(s.charCodeAt(i))) i++;
    if (s[i] !== '%') return i;
    while (i < s.length && s[i] !== '\n' && s[i] !== '\r') i++;
  }
}

/** The index just past the value starting at `i` (whitespace already skipped). */
export function skipValue(s: string, i: number, depth = 0): number {
  if (depth > 64) throw new PdfError('PDF: nested too deeply');
  const c = s[i];
  if (c === undefined) throw new PdfError('PDF: truncated value');
  if (s.startsWith('<<', i)) {
    i += 2;
    for (;;) {
      i = skipWs(s, i);
      if (s.startsWith('>>', i)) return i + 2;
      i = skipValue(s, i, depth + 1);
    }
  }
  if (c === '[') {
    i++;
    for (;;) {
      i = skipWs(s, i);
      if (s[i] === ']') return i + 1;
      i = skipValue(s, i, depth + 1);
    }
  }
  if (c === '(') return skipLiteral(s, i);
  if (c === '<') {
    const end = s.indexOf('>', i);
    if (end < 0) throw new PdfError('PDF: unterminated hex string');
    return end + 1;
  }
  if (c === '/') {
    i++;
    while (i < s.length && !WS.has(s.charCodeAt(i)) && !DELIM.has(s.charCodeAt(i))) i++;
    return i;
  }
  // A number, `true`/`false`/`null`, or `N G R` (an indirect reference).
  const m = /^(\d+)\s+(\d+)\s+R(?![A-Za-z])/.exec(s.slice(i, i + 32));
  if (m) return i + m[0].length;
  const start = i;
  while (i < s.length && !WS.has(s.charCodeAt(i)) && !DELIM.has(s.charCodeAt(i))) i++;
  if (i === start) throw new PdfError(`PDF: unexpected "${c}"`);
  return i;
}

function skipLiteral(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new PdfError('PDF: unterminated string');
}

/** A dictionary's top-level entries, in order: key (without "/") → the value's source text. */
export function dictEntries(s: string, i: number): { entries: [string, string][]; end: number } {
  i = skipWs(s, i);
  if (!s.startsWith('<<', i)) throw new PdfError('PDF: expected a dictionary');
  i += 2;
  const entries: [string, string][] = [];
  for (;;) {
    i = skipWs(s, i);
    if (s.startsWith('>>', i)) return { entries, end: i + 2 };
    if (s[i] !== '/') throw new PdfError('PDF: dictionary key is not a name');
    const keyEnd = skipValue(s, i);
    const key = s.slice(i + 1, keyEnd);
    const v = skipWs(s, keyEnd);
    const vEnd = skipValue(s, v);
    entries.push([key, s.slice(v, vEnd)]);
    i = vEnd;
  }
}

export function dictText(entries: [string, string][]): string {
  return `<<${entries.map(([k, v]) => `/${k} ${v}`).join(' ')}>>`;
}

export interface Ref {
  num: number;
  gen: number;
}

export function parseRef(v: string | undefined): Ref | undefined {
  const m = v ? /^(\d+)\s+(\d+)\s+R$/.exec(v.trim()) : null;
  return m ? { num: Number(m[1]), gen: Number(m[2]) } : undefined;
}

export const refText = (r: Ref) => `${r.num} ${r.gen} R`;
export const get = (entries: [string, string][], key: string) => entries.find(([k]) => k === key)?.[1];

export interface XrefInfo {
  /** The newest offset of every in-use object. */
  offsets: Map<number, { offset: number; gen: number }>;
  /** The newest trailer's entries. */
  trailer: [string, string][];
  /** Offset of the newest cross-reference section (the update's /Prev). */
  startxref: number;
}

/** Reads the classic cross-reference tables, newest first, following /Prev. */
export function readXref(s: string): XrefInfo {
  const tail = s.slice(Math.max(0, s.length - 2048));
  const m = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(tail);
  if (!m) throw new PdfError('PDF: no startxref at the end of the file');
  const startxref = Number(m[1]);
  const offsets = new Map<number, { offset: number; gen: number }>();
  let trailer: [string, string][] | undefined;
  const seen = new Set<number>();
  for (let at: number | undefined = startxref; at !== undefined; ) {
    if (seen.has(at) || at >= s.length) throw new PdfError('PDF: bad /Prev chain');
    seen.add(at);
    if (!s.startsWith('xref', at)) throw new PdfError('PDF: cross-reference streams are not supported (save the PDF with a classic xref table)');
    const t = readSection(s, at + 4, offsets);
    trailer ??= t;
    const prev = get(t, 'Prev');
    at = prev !== undefined ? Number(prev) : undefined;
  }
  return { offsets, trailer: trailer!, startxref };
}

function readSection(s: string, i: number, offsets: XrefInfo['offsets']): [string, string][] {
  const line = /\s*(\d+)\s+(\d+)\s*/y;
  for (;;) {
    i = skipWs(s, i);
    if (s.startsWith('trailer', i)) return dictEntries(s, i + 7).entries;
    line.lastIndex = i;
    const h = line.exec(s);
    if (!h) throw new PdfError('PDF: bad cross-reference subsection');
    const first = Number(h[1]);
    const count = Number(h[2]);
    i = line.lastIndex;
    for (let k = 0; k < count; k++) {
      const e = /^(\d{10}) (\d{5}) ([nf])/.exec(s.slice(i, i + 18));
      if (!e) throw new PdfError('PDF: bad cross-reference entry');
      // Older sections come later in the walk: an object already seen keeps its newer offset.
      if (e[3] === 'n' && !offsets.has(first + k)) offsets.set(first + k, { offset: Number(e[1]), gen: Number(e[2]) });
      i += 18;
      while (s[i] === '\r' || s[i] === '\n' || s[i] === ' ') i++;
    }
  }
}

/** Where the value of object `ref` starts (just after `N G obj`). */
function objectStart(s: string, x: XrefInfo, ref: Ref): number {
  const o = x.offsets.get(ref.num);
  if (!o) throw new PdfError(`PDF: object ${ref.num} is not in the cross-reference table`);
  const head = new RegExp(`^${ref.num}\\s+${ref.gen}\\s+obj`).exec(s.slice(o.offset, o.offset + 40));
  if (!head) throw new PdfError(`PDF: object ${ref.num} is not where the cross-reference table says`);
  return o.offset + head[0].length;
}

/** The dictionary of object `ref` (its entries). */
export function objectDict(s: string, x: XrefInfo, ref: Ref): [string, string][] {
  return dictEntries(s, objectStart(s, x, ref)).entries;
}

/** The source text of object `ref`'s value (an array, say). */
export function objectValue(s: string, x: XrefInfo, ref: Ref): string {
  const i = skipWs(s, objectStart(s, x, ref));
  return s.slice(i, skipValue(s, i));
}

/** The items of an array's source text. */
export function arrayItems(v: string): string[] {
  const t = v.trim();
  if (!t.startsWith('[')) throw new PdfError('PDF: expected an array');
  const out: string[] = [];
  for (let i = 1; ; ) {
    i = skipWs(t, i);
    if (t[i] === ']') return out;
    const end = skipValue(t, i);
    out.push(t.slice(i, end));
    i = end;
  }
}
