/**
 * The archive's envelope: a plaintext header, then AES-256-GCM chunks (the STREAM construction).
 *
 *   "CGBACKUP" | u8 version 1 | u32 header length | header JSON
 *   chunk*   : u32 (bit 31 = final, bits 0..30 = ciphertext length) | ciphertext | 16-byte tag
 *
 * Chunk i's nonce is the header's 7-byte prefix | u32 i | u8 final, and its additional data the
 * SHA-256 of the whole header: a chunk moved, dropped, repeated, taken from another archive, or a
 * header edited, fails its tag; an archive that ends before a chunk marked final is truncated, and
 * bytes after that chunk are refused. The header's key-check value says "wrong passphrase" before
 * any chunk is tried, so a wrong secret is never reported as damage.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ArchiveIntegrityError, BackupError } from './errors.ts';
import { checkMatches, deriveKeys, newKdf, type ArchiveKeys, type BackupSecret, type Kdf } from './secret.ts';

const MAGIC = Buffer.from('CGBACKUP');
const VERSION = 1;
export const CHUNK_SIZE = 64 * 1024;
const FINAL = 0x8000_0000;
const MAX_HEADER = 64 * 1024;

export interface ArchiveHeader {
  format: 'certgate-backup';
  cipher: 'aes-256-gcm';
  chunkSize: number;
  kdf: Kdf;
  noncePrefix: string;
  keyCheck: string;
  createdAt: string;
}

export type Sink = (buf: Buffer) => Promise<void>;

/** Encrypts what it is given into chunks and hands each framed chunk to `sink`. */
export class SealedWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private done = false;
  bytes = 0;

  private constructor(
    private readonly sink: Sink,
    private readonly keys: ArchiveKeys,
    private readonly prefix: Buffer,
    private readonly aad: Buffer,
  ) {}

  static async open(sink: Sink, secret: BackupSecret): Promise<SealedWriter> {
    const kdf = newKdf(secret);
    const keys = await deriveKeys(secret, kdf);
    const prefix = randomBytes(7);
    const header: ArchiveHeader = {
      format: 'certgate-backup',
      cipher: 'aes-256-gcm',
      chunkSize: CHUNK_SIZE,
      kdf,
      noncePrefix: prefix.toString('base64'),
      keyCheck: keys.check.toString('base64'),
      createdAt: new Date().toISOString(),
    };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(5);
    len.writeUInt8(VERSION, 0);
    len.writeUInt32BE(json.length, 1);
    const head = Buffer.concat([MAGIC, len, json]);
    const w = new SealedWriter(sink, keys, prefix, createHash('sha256').update(head).digest());
    await w.emit(head);
    return w;
  }

  async write(data: Buffer): Promise<void> {
    if (this.done) throw new Error('SealedWriter: write after finish');
    this.pending.push(data);
    this.pendingBytes += data.length;
    while (this.pendingBytes >= CHUNK_SIZE) {
      const all = Buffer.concat(this.pending);
      await this.chunk(all.subarray(0, CHUNK_SIZE), false);
      this.pending = [all.subarray(CHUNK_SIZE)];
      this.pendingBytes = all.length - CHUNK_SIZE;
    }
  }

  /** Seals the rest as the final chunk (possibly empty). */
  async finish(): Promise<void> {
    await this.chunk(Buffer.concat(this.pending), true);
    this.pending = [];
    this.done = true;
  }

  private async chunk(plain: Buffer, final: boolean): Promise<void> {
    const c = createCipheriv('aes-256-gcm', this.keys.enc, nonce(this.prefix, this.seq, final));
    c.setAAD(this.aad);
    const body = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    const frame = Buffer.alloc(4);
    frame.writeUInt32BE((final ? FINAL : 0) + plain.length);
    this.seq++;
    await this.emit(Buffer.concat([frame, body]));
  }

  private async emit(buf: Buffer): Promise<void> {
    this.bytes += buf.length;
    await this.sink(buf);
  }
}

function nonce(prefix: Buffer, seq: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(seq, 7);
  n.writeUInt8(final ? 1 : 0, 11);
  return n;
}

/** Reads exactly what it is asked for from an async byte source. */
class ByteReader {
  private buf = Buffer.alloc(0);
  private it: AsyncIterator<Buffer | Uint8Array | string>;
  consumed = 0;
  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = source[Symbol.asyncIterator]();
  }
  /** `n` bytes, or fewer only at the end of the source. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      const r = await this.it.next();
      if (r.done) break;
      this.buf = Buffer.concat([this.buf, Buffer.from(r.value as Uint8Array)]);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    this.consumed += out.length;
    return out;
  }
}

export interface OpenedArchive {
  header: ArchiveHeader;
  /** The plaintext, chunk by chunk, each authenticated before it is yielded. */
  plaintext: AsyncGenerator<Buffer>;
  /** Bytes of the archive consumed so far (for progress). */
  consumed(): number;
}

/** Reads the header only (no secret needed): what `verify` shows before asking for one. */
export async function readHeader(source: AsyncIterable<Buffer | Uint8Array | string>): Promise<{ header: ArchiveHeader; head: Buffer; reader: ByteReader }> {
  const reader = new ByteReader(source);
  const start = await reader.read(MAGIC.length + 5);
  if (start.length < MAGIC.length + 5 || !start.subarray(0, MAGIC.length).equals(MAGIC)) throw new BackupError('not a Certgate backup archive (no CGBACKUP header)');
  if (start.readUInt8(MAGIC.length) !== VERSION) throw new BackupError(`unsupported backup archive version ${start.readUInt8(MAGIC.length)}`);
  const len = start.readUInt32BE(MAGIC.length + 1);
  if (len > MAX_HEADER) throw new ArchiveIntegrityError('the header is implausibly long');
  const json = await reader.read(len);
  if (json.length < len) throw new ArchiveIntegrityError('the archive ends inside its header (truncated)');
  let header: ArchiveHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as ArchiveHeader;
  } catch {
    throw new ArchiveIntegrityError('the header is not valid JSON');
  }
  if (header?.format !== 'certgate-backup' || header.cipher !== 'aes-256-gcm' || !header.kdf) throw new ArchiveIntegrityError('the header does not describe a Certgate archive');
  return { header, head: Buffer.concat([start, json]), reader };
}

export async function openSealed(source: AsyncIterable<Buffer | Uint8Array | string>, secret: BackupSecret): Promise<OpenedArchive> {
  const { header, head, reader } = await readHeader(source);
  const keys = await deriveKeys(secret, header.kdf);
  if (!checkMatches(keys, Buffer.from(header.keyCheck ?? '', 'base64'))) {
    throw new BackupError(`wrong ${secret.kind === 'passphrase' ? 'passphrase' : 'key file'} for this backup archive (or its header was altered)`);
  }
  const aad = createHash('sha256').update(head).digest();
  const prefix = Buffer.from(header.noncePrefix, 'base64');
  if (prefix.length !== 7 || !(header.chunkSize > 0 && header.chunkSize <= 16 * 1024 * 1024)) throw new ArchiveIntegrityError('bad header fields');
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let seq = 0; ; seq++) {
      const frame = await reader.read(4);
      if (frame.length === 0) throw new ArchiveIntegrityError(`it ends after chunk ${seq} without its final chunk (truncated)`);
      if (frame.length < 4) throw new ArchiveIntegrityError(`chunk ${seq} is cut short (truncated)`);
      const word = frame.readUInt32BE(0);
      const final = word >= FINAL;
      const len = word & ~FINAL;
      if (len > header.chunkSize) throw new ArchiveIntegrityError(`chunk ${seq} has a bad length`);
      const body = await reader.read(len + 16);
      if (body.length < len + 16) throw new ArchiveIntegrityError(`chunk ${seq} is cut short (truncated)`);
      const d = createDecipheriv('aes-256-gcm', keys.enc, nonce(prefix, seq, final));
      d.setAAD(aad);
      d.setAuthTag(body.subarray(len));
      let plain: Buffer;
      try {
        plain = Buffer.concat([d.update(body.subarray(0, len)), d.final()]);
      } catch {
        throw new ArchiveIntegrityError(`chunk ${seq} does not authenticate (the archive was altered or damaged)`);
      }
      yield plain;
      if (final) {
        if ((await reader.read(1)).length) throw new ArchiveIntegrityError('bytes follow the final chunk');
        return;
      }
    }
  }
  return { header, plaintext: chunks(), consumed: () => reader.consumed };
}

/** An archive file as a byte source, opened on first read (nothing is left open when it is never read). */
export async function* fileSource(file: string): AsyncGenerator<Buffer> {
  const { createReadStream } = await import('node:fs');
  yield* createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
}
