/**
 * A small, closed XML reader for SOAP 1.1 envelopes of the SPOC messages: elements, attributes,
 * text, CDATA, comments and the XML declaration. No DTD, no entity declarations, no external
 * anything (refused, not ignored: XXE and billion-laughs cannot start); only the five predefined
 * entities and character references. Depth- and size-bounded. Namespaces are read by local name.
 */
export interface XmlElement {
  /** Local name (prefix dropped). */
  name: string;
  children: XmlElement[];
  text: string;
}

export class XmlError extends Error {}

const MAX_DEPTH = 24;
const MAX_ELEMENTS = 2000;

export function parseXml(src: string): XmlElement {
  let i = 0;
  let count = 0;
  const fail = (m: string): never => {
    throw new XmlError(`XML: ${m} at ${i}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i])) i++;
      if (src.startsWith('<?', i)) {
        const e = src.indexOf('?>', i);
        if (e < 0) fail('unterminated declaration');
        i = e + 2;
      } else if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (src.startsWith('<!', i)) fail('DTDs and declarations are not accepted');
      else return;
    }
  };
  const element = (depth: number): XmlElement => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    if (++count > MAX_ELEMENTS) fail('too many elements');
    if (src[i] !== '<') fail('element expected');
    const m = /^<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)/.exec(src.slice(i, i + 256));
    if (!m) fail('bad element name');
    const qname = m![1];
    i += m![0].length;
    // Attributes: read and dropped (xmlns declarations, encodingStyle); values must be quoted.
    for (;;) {
      while (/\s/.test(src[i] ?? '')) i++;
      if (src.startsWith('/>', i)) {
        i += 2;
        return { name: local(qname), children: [], text: '' };
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      const a = /^[A-Za-z_][\w.:-]*\s*=\s*("[^"<]*"|'[^'<]*')/.exec(src.slice(i, i + 4096));
      if (!a) fail('bad attribute');
      i += a![0].length;
    }
    const el: XmlElement = { name: local(qname), children: [], text: '' };
    for (;;) {
      if (i >= src.length) fail(`unterminated <${qname}>`);
      if (src.startsWith('</', i)) {
        const end = `</${qname}`;
        if (!src.startsWith(end, i)) fail(`</${qname}> expected`);
        i += end.length;
        while (/\s/.test(src[i] ?? '')) i++;
        if (src[i] !== '>') fail('bad end tag');
        i++;
        return el;
      }
      if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (src.startsWith('<![CDATA[', i)) {
        const e = src.indexOf(']]>', i);
        if (e < 0) fail('unterminated CDATA');
        el.text += src.slice(i + 9, e);
        i = e + 3;
      } else if (src.startsWith('<!', i) || src.startsWith('<?', i)) fail('declarations are not accepted in content');
      else if (src[i] === '<') el.children.push(element(depth + 1));
      else {
        const e = src.indexOf('<', i);
        el.text += decodeText(src.slice(i, e < 0 ? src.length : e));
        i = e < 0 ? src.length : e;
      }
    }
  };
  skipMisc();
  const root = element(0);
  skipMisc();
  if (i !== src.length) fail('content after the root element');
  return root;
}

const local = (q: string) => q.slice(q.indexOf(':') + 1);

function decodeText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);|&/g, (all, e: string | undefined) => {
    if (e === undefined) throw new XmlError('XML: a bare & in text');
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new XmlError('XML: bad character reference');
      return String.fromCodePoint(cp);
    }
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e] ?? all;
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export const child = (el: XmlElement, name: string): XmlElement | undefined => el.children.find((c) => c.name === name);

/** The text of an element or, for wrapped values (`<messageID><ns1:messageID>x</…></…>`), of its only child. */
export function valueOf(el: XmlElement | undefined): string | undefined {
  if (!el) return undefined;
  if (el.children.length === 1 && el.text.trim() === '') return valueOf(el.children[0]);
  return el.text.trim();
}
