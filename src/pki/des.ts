/**
 * Single DES (FIPS 46-3) in CBC mode, for the DES-CBC envelopes old SCEP clients still send:
 * OpenSSL 3 (inside Node 20) has single DES only in its legacy provider, which Node does not
 * load. Used for `des-cbc` only; DES-EDE3-CBC goes through node:crypto.
 *
 * Written for clarity over speed (a bit array per block: a SCEP request is a few hundred blocks).
 * S-box look-ups index tables with key-dependent values, so this is not free of cache-timing
 * leaks; single DES is broken by brute force anyway and is accepted only for compatibility.
 */

// Tables of FIPS 46-3 (bit positions counted from 1 at the most significant bit).
const IP = [58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7];
const FP = [40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, 34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25];
const E = [32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1];
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

/** The 16 round keys (48 bits each). Parity bits (every 8th) are ignored, as PC-1 drops them. */
export function desKeySchedule(key: Uint8Array): Bits[] {
  if (key.length !== 8) throw new RangeError('DES key must be 8 octets');
  const k = permute(toBits(key, 0, 8), PC1);
  let c: Bits = k.subarray(0, 28);
  let d: Bits = k.subarray(28, 56);
  const rounds: Bits[] = [];
  for (const s of SHIFTS) {
    c = rotateLeft(c, s);
    d = rotateLeft(d, s);
    const cd = new Uint8Array(56);
    cd.set(c, 0);
    cd.set(d, 28);
    rounds.push(permute(cd, PC2));
  }
  return rounds;
}

/** The cipher function f(R, K) of FIPS 46-3. */
function feistel(r: Bits, k: Bits): Bits {
  const x = permute(r, E);
  for (let i = 0; i < 48; i++) x[i] ^= k[i];
  const s = new Uint8Array(32);
  for (let box = 0; box < 8; box++) {
    const b = x.subarray(box * 6, box * 6 + 6);
    const row = (b[0] << 1) | b[5];
    const col = (b[1] << 3) | (b[2] << 2) | (b[3] << 1) | b[4];
    const v = S_BOXES[box][row * 16 + col];
    for (let j = 0; j < 4; j++) s[box * 4 + j] = (v >> (3 - j)) & 1;
  }
  return permute(s, P);
}

/** Encrypts (or, with the schedule reversed, decrypts) one 8-octet block in place at `offset`. */
function cryptBlock(buf: Uint8Array, offset: number, schedule: Bits[], decrypt: boolean): void {
  const ip = permute(toBits(buf, offset, 8), IP);
  let l: Bits = ip.slice(0, 32);
  let r: Bits = ip.slice(32, 64);
  for (let i = 0; i < 16; i++) {
    const f = feistel(r, schedule[decrypt ? 15 - i : i]);
    for (let j = 0; j < 32; j++) f[j] ^= l[j];
    l = r;
    r = f;
  }
  const pre = new Uint8Array(64);
  pre.set(r, 0); // the halves swap after the last round
  pre.set(l, 32);
  const out = permute(pre, FP);
  for (let i = 0; i < 8; i++) {
    let v = 0;
    for (let j = 0; j < 8; j++) v = (v << 1) | out[i * 8 + j];
    buf[offset + i] = v;
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
