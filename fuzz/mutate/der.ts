/**
 * DER mutations of real requests: the request is read into a tree of TLVs, one or two nodes are
 * changed (tag, length encoding, content, nesting, order, duplication, removal), and the tree is
 * written back with correct lengths except where a length is the mutation; then sometimes truncated
 * or bit-flipped.
 */
import type { Rng } from '../rng.ts';

interface Node {
  tag: Buffer;
  children?: Node[];
  content?: Buffer;
  /** A replacement for the length octets (a deliberate lie or a non-DER form). */
  badLength?: (len: number) => Buffer;
}

export function parseTree(buf: Buffer, depth = 0): Node[] | undefined {
  const out: Node[] = [];
  let i = 0;
  while (i < buf.length) {
    const t0 = i;
    if (buf[i] === undefined) return undefined;
    const constructed = (buf[i] & 0x20) !== 0;
    if ((buf[i++] & 0x1f) === 0x1f) {
      while (i < buf.length && buf[i] & 0x80) i++;
      i++;
    }
    const tag = buf.subarray(t0, i);
    if (i >= buf.length) return undefined;
    let len = buf[i++];
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || i + n > buf.length) return undefined;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + buf[i++];
    }
    if (i + len > buf.length) return undefined;
    const content = buf.subarray(i, i + len);
    i += len;
    const kids = constructed && depth < 32 ? parseTree(content, depth + 1) : undefined;
    out.push(kids ? { tag: Buffer.from(tag), children: kids } : { tag: Buffer.from(tag), content: Buffer.from(content) });
  }
  return out;
}

function lengthOctets(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
  return Buffer.from([0x80 | b.length, ...b]);
}

export function encodeTree(nodes: Node[]): Buffer {
  return Buffer.concat(
    nodes.map((n) => {
      const body = n.children ? encodeTree(n.children) : (n.content ?? Buffer.alloc(0));
      return Buffer.concat([n.tag, n.badLength ? n.badLength(body.length) : lengthOctets(body.length), body]);
    }),
  );
}

function flatten(nodes: Node[], parent: Node[] = [], out: { node: Node; siblings: Node[] }[] = []) {
  const stack: Node[][] = [nodes];
  while (stack.length) {
    const list = stack.pop()!;
    for (const node of list) {
      out.push({ node, siblings: list });
      if (node.children) stack.push(node.children);
    }
  }
  void parent;
  return out;
}

/** `depth` SEQUENCEs around `inner`, built from the inside out (no recursion). */
export function nestSequences(inner: Buffer, depth: number): Buffer {
  let b = inner;
  for (let i = 0; i < depth; i++) b = Buffer.concat([Buffer.from([0x30]), lengthOctets(b.length), b]);
  return b;
}

const TAGS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x13, 0x16, 0x17, 0x18, 0x1e, 0x30, 0x31, 0xa0, 0xa1, 0xa2, 0xa3, 0x80, 0x81, 0x82, 0xff];
const BAD_LENGTHS: ((len: number) => Buffer)[] = [
  () => Buffer.from([0x80]), // indefinite (BER) without end-of-contents
  () => Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff]),
  (l) => lengthOctets(l + 1),
  (l) => lengthOctets(Math.max(0, l - 1)),
  (l) => Buffer.from([0x82, (l >> 8) & 0xff, l & 0xff]), // non-minimal
  () => Buffer.from([0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]), // more length octets than any parser takes
  () => Buffer.from([0x00]),
];

function mutateContent(rng: Rng, c: Buffer): Buffer {
  switch (rng.int(7)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return rng.bytes(rng.int(64) + 1);
    case 2: {
      const b = Buffer.from(c);
      if (b.length) b[rng.int(b.length)] ^= 1 << rng.int(8);
      return b;
    }
    case 3:
      return Buffer.concat([Buffer.alloc(rng.int(40) + 1), c]); // leading zeros (non-minimal INTEGER)
    case 4:
      return Buffer.alloc(rng.pick([128, 4096, 65536]), rng.int(256)); // large content
    case 5:
      return Buffer.from([0xff, ...c]); // negative INTEGER
    default:
      return Buffer.from('a\u0000b\ud800'.normalize(), 'utf8');
  }
}

/** One mutated copy of `der`; `kind` names what was done. */
export function mutateDer(rng: Rng, der: Buffer): { bytes: Buffer; kind: string } {
  const tree = parseTree(der);
  if (!tree || tree.length === 0) return { bytes: flip(rng, der), kind: 'der.flip' };
  const nodes = flatten(tree);
  let kind = '';
  const steps = rng.chance(0.3) ? 2 : 1;
  for (let s = 0; s < steps; s++) {
    const { node, siblings } = rng.pick(nodes);
    const op = rng.int(8);
    if (op === 0) {
      node.tag = Buffer.from([rng.pick(TAGS)]);
      kind = 'der.tag';
    } else if (op === 1) {
      node.badLength = rng.pick(BAD_LENGTHS);
      kind = 'der.length';
    } else if (op === 2) {
      node.content = mutateContent(rng, node.content ?? encodeTree(node.children ?? []));
      node.children = undefined;
      kind = 'der.content';
    } else if (op === 3) {
      const depth = rng.pick([2, 10, 100, 1000, 10_000]);
      const inner = Buffer.concat([node.tag, lengthOctets(0)]);
      node.tag = Buffer.from([0x30]);
      node.children = undefined;
      node.content = nestSequences(inner, depth);
      kind = 'der.nesting';
    } else if (op === 4) {
      const i = siblings.indexOf(node);
      if (i >= 0) siblings.splice(i, 1);
      kind = 'der.drop';
    } else if (op === 5) {
      siblings.splice(rng.int(siblings.length + 1), 0, node);
      kind = 'der.duplicate';
    } else if (op === 6) {
      siblings.reverse();
      kind = 'der.order';
    } else {
      node.tag = Buffer.from([0x1f, 0x81, 0x80, 0x80, 0x80, 0x80, 0x01]); // high tag number, over-long
      kind = 'der.tag-long';
    }
  }
  let bytes: Buffer = encodeTree(tree);
  if (rng.chance(0.15)) {
    bytes = bytes.subarray(0, rng.int(bytes.length));
    kind += '+truncate';
  } else if (rng.chance(0.1)) {
    bytes = flip(rng, bytes);
    kind += '+flip';
  }
  return { bytes, kind };
}

export function flip(rng: Rng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const n = 1 + rng.int(4);
  for (let i = 0; i < n && out.length; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
}
