/**
 * A PAdES signature added to a PDF as an incremental update (ISO 32000-1 §7.5.6, §12.8; ETSI EN
 * 319 142-1 baseline B-B): the original bytes stay untouched; appended are a signature dictionary
 * (/Type /Sig, /SubFilter /ETSI.CAdES.detached, /ByteRange, /Contents), one invisible signature
 * field that is also its widget, new versions of the catalog (/AcroForm with the field, /SigFlags 3)
 * and of the first page (/Annots), and a cross-reference section with /Prev.
 *
 * `preparePdf` writes the update with a zero-filled /Contents; the caller signs `signedBytes`
 * (everything but the /Contents hex string) and `embed` writes the CMS into the placeholder.
 */
import { arrayItems, dictEntries, dictText, get, objectDict, objectValue, parseRef, PdfError, readXref, refText, type Ref, type XrefInfo } from './pdf-syntax.ts';

/** Bytes kept for the CMS SignedData (certificate chain included). */
const RESERVE = 16_384;
const BYTE_RANGE_WIDTH = 48;

export interface PreparedPdf {
  pdf: Buffer;
  byteRange: [number, number, number, number];
  /** The bytes the signature covers: the two ranges of /ByteRange joined. */
  signedBytes: Buffer;
}

/** PDF date string `D:YYYYMMDDHHmmSS+00'00'` (UTC). */
function pdfDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `D:${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}+00'00'`;
}

/** A PDF literal string with ( ) \ escaped and only printable ASCII kept. */
function pdfString(v: string): string {
  return `(${v.replace(/[^\x20-\x7e]/g, '?').replace(/[()\\]/g, (c) => `\\${c}`)})`;
}

/** The first leaf page under the catalog's /Pages (following /Kids[0]). */
function firstPage(s: string, x: XrefInfo, pages: Ref): Ref {
  let node = pages;
  for (let depth = 0; depth < 32; depth++) {
    const d = objectDict(s, x, node);
    const type = get(d, 'Type')?.trim();
    if (type === '/Page') return node;
    const kids = get(d, 'Kids');
    const first = kids ? parseRef(arrayItems(kids)[0]) : undefined;
    if (type !== '/Pages' || !first) throw new PdfError('PDF: the page tree has no page');
    node = first;
  }
  throw new PdfError('PDF: the page tree is too deep');
}

interface Update {
  objects: Map<number, { gen: number; body: string }>;
}

/** The catalog with the field added to /AcroForm (direct, or an indirect AcroForm updated in place). */
function updateCatalog(s: string, x: XrefInfo, root: Ref, field: Ref, u: Update): void {
  const cat = objectDict(s, x, root).filter(([k]) => k !== 'AcroForm');
  const acro = get(objectDict(s, x, root), 'AcroForm');
  const acroRef = parseRef(acro);
  let form: [string, string][] = [];
  if (acroRef) form = objectDict(s, x, acroRef);
  else if (acro) form = dictEntries(acro, 0).entries;
  const fieldsV = get(form, 'Fields');
  if (fieldsV && parseRef(fieldsV)) throw new PdfError('PDF: an indirect /Fields array is not supported');
  const fields = [...(fieldsV ? arrayItems(fieldsV) : []), refText(field)];
  form = [...form.filter(([k]) => k !== 'Fields' && k !== 'SigFlags'), ['Fields', `[${fields.join(' ')}]`], ['SigFlags', '3']];
  if (acroRef) {
    u.objects.set(acroRef.num, { gen: acroRef.gen, body: dictText(form) });
    cat.push(['AcroForm', refText(acroRef)]);
  } else cat.push(['AcroForm', dictText(form)]);
  u.objects.set(root.num, { gen: root.gen, body: dictText(cat) });
}

/** The first page with the widget in /Annots (a direct array, or an indirect one updated in place). */
function updatePage(s: string, x: XrefInfo, page: Ref, field: Ref, u: Update): void {
  const d = objectDict(s, x, page);
  const annots = get(d, 'Annots');
  const annotsRef = parseRef(annots);
  if (annotsRef) {
    const items = arrayItems(objectValue(s, x, annotsRef));
    u.objects.set(annotsRef.num, { gen: annotsRef.gen, body: `[${[...items, refText(field)].join(' ')}]` });
    return;
  }
  const items = annots ? arrayItems(annots) : [];
  const next = d.filter(([k]) => k !== 'Annots');
  next.push(['Annots', `[${[...items, refText(field)].join(' ')}]`]);
  u.objects.set(page.num, { gen: page.gen, body: dictText(next) });
}

/** Appends the signature update with an empty /Contents; returns the new file and what to sign. */
export function preparePdf(original: Uint8Array, opts: { signingTime: Date; reason?: string; name?: string }): PreparedPdf {
  const src = Buffer.from(original);
  if (!src.subarray(0, 1024).toString('latin1').includes('%PDF-')) throw new PdfError('not a PDF (no %PDF- header)');
  const s = src.toString('latin1');
  const x = readXref(s);
  const root = parseRef(get(x.trailer, 'Root'));
  const size = Number(get(x.trailer, 'Size'));
  if (!root || !Number.isInteger(size) || size <= 0) throw new PdfError('PDF: the trailer has no /Root or /Size');
  if (get(x.trailer, 'Encrypt')) throw new PdfError('PDF: encrypted documents are not supported');
  const pages = parseRef(get(objectDict(s, x, root), 'Pages'));
  if (!pages) throw new PdfError('PDF: the catalog has no /Pages');
  const page = firstPage(s, x, pages);
  const sig: Ref = { num: size, gen: 0 };
  const field: Ref = { num: size + 1, gen: 0 };
  const u: Update = { objects: new Map() };
  updateCatalog(s, x, root, field, u);
  updatePage(s, x, page, field, u);
  const extra = [opts.name ? `/Name ${pdfString(opts.name)}` : '', opts.reason ? `/Reason ${pdfString(opts.reason)}` : ''].join('');
  u.objects.set(sig.num, {
    gen: 0,
    body: `<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange ${'#'.repeat(BYTE_RANGE_WIDTH)} /Contents <${'0'.repeat(RESERVE * 2)}> /M ${pdfString(pdfDate(opts.signingTime))}${extra}>>`,
  });
  u.objects.set(field.num, {
    gen: 0,
    body: `<</Type /Annot /Subtype /Widget /FT /Sig /T ${pdfString(`Signature${size}`)} /V ${refText(sig)} /F 132 /Rect [0 0 0 0] /P ${refText(page)}>>`,
  });
  return finish(src, x, u, size + 2);
}

/** Writes the objects, the cross-reference section and the trailer; fills /ByteRange. */
function finish(src: Buffer, x: XrefInfo, u: Update, newSize: number): PreparedPdf {
  let out = src.toString('latin1');
  if (!out.endsWith('\n')) out += '\n';
  const offsets = new Map<number, { offset: number; gen: number }>();
  for (const num of [...u.objects.keys()].sort((a, b) => a - b)) {
    const o = u.objects.get(num)!;
    offsets.set(num, { offset: out.length, gen: o.gen });
    out += `${num} ${o.gen} obj\n${o.body}\nendobj\n`;
  }
  const xrefAt = out.length;
  out += 'xref\n';
  const nums = [...offsets.keys()].sort((a, b) => a - b);
  for (let i = 0; i < nums.length; ) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
    out += `${nums[i]} ${j - i + 1}\n`;
    for (let k = i; k <= j; k++) {
      const o = offsets.get(nums[k])!;
      out += `${String(o.offset).padStart(10, '0')} ${String(o.gen).padStart(5, '0')} n\r\n`;
    }
    i = j + 1;
  }
  const keep = x.trailer.filter(([k]) => k === 'Root' || k === 'Info' || k === 'ID');
  out += `trailer\n${dictText([['Size', String(newSize)], ...keep, ['Prev', String(x.startxref)]])}\nstartxref\n${xrefAt}\n%%EOF\n`;

  const placeholder = out.lastIndexOf('/ByteRange ' + '#'.repeat(BYTE_RANGE_WIDTH)) + '/ByteRange '.length;
  const contentsStart = out.indexOf('/Contents <', placeholder) + '/Contents '.length;
  const contentsEnd = contentsStart + RESERVE * 2 + 2;
  const byteRange: PreparedPdf['byteRange'] = [0, contentsStart, contentsEnd, out.length - contentsEnd];
  out = out.slice(0, placeholder) + `[${byteRange.join(' ')}]`.padEnd(BYTE_RANGE_WIDTH, ' ') + out.slice(placeholder + BYTE_RANGE_WIDTH);
  const pdf = Buffer.from(out, 'latin1');
  const signedBytes = Buffer.concat([pdf.subarray(0, contentsStart), pdf.subarray(contentsEnd)]);
  return { pdf, byteRange, signedBytes };
}

/** The signed PDF: the CMS (DER) hex-encoded into the /Contents placeholder. */
export function embedSignature(p: PreparedPdf, cms: Uint8Array): Buffer {
  const hex = Buffer.from(cms).toString('hex');
  if (hex.length > RESERVE * 2) throw new PdfError('the signature is larger than the space kept for it');
  const out = Buffer.from(p.pdf);
  out.write(hex.padEnd(RESERVE * 2, '0'), p.byteRange[1] + 1, 'latin1');
  return out;
}
