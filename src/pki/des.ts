/**
 * Single DES (FIPS 46-3) in CBC mode, for the DES-CBC envelopes old SCEP clients still send:
 * OpenSSL 3 (inside Node 20) has single DES only in its legacy provider, which Node does not
 * load. Used for `des-cbc` only; DES-EDE3-CBC goes through node:crypto.
 *
 * The tables are the standard's, used as written; S and P are combined into one look-up table
 * (SP) at load time and a block is two 32-bit halves.
 * S-box look-ups index tables with key-dependent values, so this is not free of cache-timing
 * leaks; single DES is broken by brute force anyway and is accepted only for compatibility.
 */

// Tables of FIPS 46-3 (bit positions counted from 1 at the most significant bit).
const IP = [58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7];
const FP = [40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, 34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25];
const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];
const PC1 = [57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4];
const PC2 = [14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32];
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/** S1..S8, each 4 rows of 16. */
export const S_BOXES: readonly (readonly number[])[] = [
  [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
  [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
  [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
  [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
  [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
  [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
  [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
  [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
];

type Bits = Uint8Array;

function toBits(bytes: Uint8Array, offset: number, n: number): Bits {
  const out = new Uint8Array(n * 8);
  for (let i = 0; i < n * 8; i++) out[i] = (bytes[offset + (i >> 3)] >> (7 - (i & 7))) & 1;
  return out;
}

function permute(bits: Bits, table: readonly number[]): Bits {
  const out = new Uint8Array(table.length);
  for (let i = 0; i < table.length; i++) out[i] = bits[table[i] - 1];
  return out;
}

function rotateLeft(half: Bits, n: number): Bits {
  const out = new Uint8Array(half.length);
  for (let i = 0; i < half.length; i++) out[i] = half[(i + n) % half.length];
  return out;
}

/**
 * The 16 round keys, each as its eight 6-bit groups (the S-box inputs it is XORed into).
 * Parity bits (every 8th) are ignored, as PC-1 drops them.
 */
export function desKeySchedule(key: Uint8Array): Uint8Array[] {
  if (key.length !== 8) throw new RangeError('DES key must be 8 octets');
  const k = permute(toBits(key, 0, 8), PC1);
  let c: Bits = k.subarray(0, 28);
  let d: Bits = k.subarray(28, 56);
  const rounds: Uint8Array[] = [];
  for (const s of SHIFTS) {
    c = rotateLeft(c, s);
    d = rotateLeft(d, s);
    const cd = new Uint8Array(56);
    cd.set(c, 0);
    cd.set(d, 28);
    const k48 = permute(cd, PC2);
    const groups = new Uint8Array(8);
    for (let g = 0; g < 8; g++) for (let j = 0; j < 6; j++) groups[g] = (groups[g] << 1) | k48[g * 6 + j];
    rounds.push(groups);
  }
  return rounds;
}

/**
 * SP[box][v]: S-box `box` applied to the 6-bit input v, its 4 output bits put in place in the
 * 32-bit word and permuted by P — the S and P steps of the cipher function in one look-up.
 */
const SP: Uint32Array[] = S_BOXES.map((box, i) => {
  const t = new Uint32Array(64);
  for (let v = 0; v < 64; v++) {
    const out = box[(((v >> 5) << 1) | (v & 1)) * 16 + ((v >> 1) & 15)];
    const w = out << (28 - 4 * i);
    let p = 0;
    for (let j = 0; j < 32; j++) p |= ((w >>> (32 - P[j])) & 1) << (31 - j);
    t[v] = p >>> 0;
  }
  return t;
});

/**
 * The cipher function f(R, K). FIPS 46-3's expansion E selects bits 32,1..5 | 4..9 | … | 28..32,1:
 * eight 6-bit windows, 4 bits apart, of R rotated right by one; each, XORed with its key group,
 * indexes SP.
 */
function feistel(r: number, k: Uint8Array): number {
  const x = ((r >>> 1) | (r << 31)) >>> 0; // rotated right: E's first window is bits 32,1..5
  let f = 0;
  for (let i = 0; i < 7; i++) f |= SP[i][((x >>> (26 - 4 * i)) & 63) ^ k[i]];
  f |= SP[7][(((x << 2) | (x >>> 30)) & 63) ^ k[7]];
  return f >>> 0;
}

/** A 64-bit permutation (IP or FP) on two 32-bit halves. */
function permute64(hi: number, lo: number, table: readonly number[]): [number, number] {
  let a = 0;
  let b = 0;
  for (let j = 0; j < 64; j++) {
    const src = table[j] - 1;
    const bit = src < 32 ? (hi >>> (31 - src)) & 1 : (lo >>> (63 - src)) & 1;
    if (j < 32) a |= bit << (31 - j);
    else b |= bit << (63 - j);
  }
  return [a >>> 0, b >>> 0];
}

/** Encrypts (or, with the schedule reversed, decrypts) one 8-octet block in place at `offset`. */
function cryptBlock(buf: Uint8Array, offset: number, schedule: Uint8Array[], decrypt: boolean): void {
  const hi = ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0;
  const lo = ((buf[offset + 4] << 24) | (buf[offset + 5] << 16) | (buf[offset + 6] << 8) | buf[offset + 7]) >>> 0;
  let [l, r] = permute64(hi, lo, IP);
  for (let i = 0; i < 16; i++) {
    const next = (l ^ feistel(r, schedule[decrypt ? 15 - i : i])) >>> 0;
    l = r;
    r = next;
  }
  const [a, b] = permute64(r, l, FP); // the halves swap after the last round
  for (let i = 0; i < 4; i++) {
    buf[offset + i] = (a >>> (24 - 8 * i)) & 0xff;
    buf[offset + 4 + i] = (b >>> (24 - 8 * i)) & 0xff;
  }
}

/** One block (8 octets) under DES, ECB: for the FIPS test vectors. */
export function desBlock(key: Uint8Array, block: Uint8Array, decrypt = false): Buffer {
  if (block.length !== 8) throw new RangeError('DES block must be 8 octets');
  const out = Buffer.from(block);
  cryptBlock(out, 0, desKeySchedule(key), decrypt);
  return out;
}

/**
 * DES-CBC over whole blocks (no padding: the caller adds and checks PKCS#7 padding).
 */
export function desCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, decrypt: boolean): Buffer {
  if (iv.length !== 8) throw new RangeError('DES-CBC IV must be 8 octets');
  if (data.length % 8 !== 0) throw new RangeError('DES-CBC data must be whole 8-octet blocks');
  const schedule = desKeySchedule(key);
  const out = Buffer.from(data);
  let prev = Buffer.from(iv);
  for (let p = 0; p < out.length; p += 8) {
    if (decrypt) {
      const c = Buffer.from(out.subarray(p, p + 8));
      cryptBlock(out, p, schedule, true);
      for (let i = 0; i < 8; i++) out[p + i] ^= prev[i];
      prev = c;
    } else {
      for (let i = 0; i < 8; i++) out[p + i] ^= prev[i];
      cryptBlock(out, p, schedule, false);
      prev = out.subarray(p, p + 8);
    }
  }
  return out;
}
