/**
 * Walks an archive's records in order and checks everything a restore relies on: every chunk
 * authenticates (sealed-stream.ts), the records come in the order they were written, each table's
 * rows hash to its end record, and the closing manifest agrees with all of it. `verify` walks it
 * with no visitor; `restore` with one that writes what it is shown.
 */
import { createHash } from 'node:crypto';
import { ArchiveIntegrityError } from './errors.ts';
import { records, type FileRecord, type Manifest, type MetaRecord, type SequencesRecord, type TableRecord } from './records.ts';
import { openSealed, type OpenedArchive } from './sealed-stream.ts';
import type { BackupSecret } from './secret.ts';

export interface ArchiveVisitor {
  meta?(m: MetaRecord): Promise<void>;
  file?(f: FileRecord): Promise<void>;
  table?(t: TableRecord): Promise<void>;
  /** A batch of rows (row_to_json texts) of the current table. */
  rows?(t: TableRecord, rows: string[]): Promise<void>;
  tableEnd?(t: TableRecord, rows: number, sha256: string): Promise<void>;
  sequences?(s: SequencesRecord): Promise<void>;
  /** Before the walk reports success: the manifest checked against the whole archive. */
  manifest?(m: Manifest): Promise<void>;
}

export interface ArchiveSummary {
  meta: Omit<MetaRecord, 'kek'>;
  manifest: Manifest;
}

const BATCH_ROWS = 500;
const BATCH_BYTES = 1 << 20;

export async function readArchive(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  secret: BackupSecret,
  visitor: ArchiveVisitor = {},
  onProgress?: (consumedBytes: number) => void,
): Promise<ArchiveSummary> {
  const opened: OpenedArchive = await openSealed(source, secret);
  let meta: MetaRecord | undefined;
  let manifest: Manifest | undefined;
  let sequences: SequencesRecord | undefined;
  let current: { t: TableRecord; hash: ReturnType<typeof createHash>; rows: number; batch: string[]; bytes: number } | undefined;
  const seen: { name: string; rows: number; sha256: string }[] = [];
  const files: FileRecord[] = [];
  const bad = (what: string) => new ArchiveIntegrityError(what);
  const flush = async () => {
    if (current?.batch.length) await visitor.rows?.(current.t, current.batch);
    if (current) {
      current.batch = [];
      current.bytes = 0;
    }
  };
  let n = 0;
  for await (const r of records(opened.plaintext)) {
    if (++n % 1000 === 0) onProgress?.(opened.consumed());
    if (manifest) throw bad('records follow the manifest');
    if (!meta && r.type !== 'meta') throw bad('the archive does not begin with its meta record');
    switch (r.type) {
      case 'meta':
        if (meta) throw bad('a second meta record');
        meta = r;
        await visitor.meta?.(r);
        break;
      case 'file':
        files.push(r);
        await visitor.file?.(r);
        break;
      case 'table':
        if (current) throw bad(`table ${r.name} begins inside table ${current.t.name}`);
        current = { t: r, hash: createHash('sha256'), rows: 0, batch: [], bytes: 0 };
        await visitor.table?.(r);
        break;
      case 'row':
        if (!current) throw bad('a row outside any table');
        current.hash.update(r.text).update('\n');
        current.rows++;
        current.batch.push(r.text);
        current.bytes += r.text.length;
        if (current.batch.length >= BATCH_ROWS || current.bytes >= BATCH_BYTES) await flush();
        break;
      case 'end': {
        if (!current || current.t.name !== r.name) throw bad(`an end record for ${r.name} outside that table`);
        await flush();
        const sha = current.hash.digest('hex');
        if (sha !== r.sha256 || current.rows !== r.rows) throw bad(`table ${r.name}: its rows do not match their count and hash`);
        seen.push({ name: r.name, rows: r.rows, sha256: sha });
        await visitor.tableEnd?.(current.t, r.rows, sha);
        current = undefined;
        break;
      }
      case 'sequences':
        sequences = r;
        await visitor.sequences?.(r);
        break;
      case 'manifest':
        if (current) throw bad(`the manifest comes inside table ${current.t.name}`);
        manifest = r;
        break;
      default:
        throw bad('an unknown record type');
    }
  }
  onProgress?.(opened.consumed());
  if (!meta || !manifest) throw bad('no manifest: the archive is incomplete');
  checkManifest(manifest, seen, files, sequences);
  await visitor.manifest?.(manifest);
  const { kek: _kek, ...safeMeta } = meta;
  return { meta: safeMeta, manifest };
}

/** The meta record alone (migrations, KEK), read from the archive's first chunk. */
export async function readMeta(source: AsyncIterable<Buffer | Uint8Array | string>, secret: BackupSecret): Promise<MetaRecord> {
  const opened = await openSealed(source, secret);
  const it = records(opened.plaintext);
  try {
    const first = await it.next();
    if (first.done || first.value.type !== 'meta') throw new ArchiveIntegrityError('the archive does not begin with its meta record');
    return first.value;
  } finally {
    await it.return(undefined);
  }
}

function checkManifest(m: Manifest, seen: { name: string; rows: number; sha256: string }[], files: FileRecord[], seq?: SequencesRecord): void {
  const same = JSON.stringify(m.tables) === JSON.stringify(seen);
  if (!same) throw new ArchiveIntegrityError('the manifest does not list the tables the archive holds');
  if (m.totalRows !== seen.reduce((a, t) => a + t.rows, 0)) throw new ArchiveIntegrityError('the manifest row total is wrong');
  if (JSON.stringify(m.sequences) !== JSON.stringify(seq?.list ?? [])) throw new ArchiveIntegrityError('the manifest does not list the archive\'s sequences');
  const fileHashes = files.map((f) => {
    const b = Buffer.from(f.data, 'base64');
    return { path: f.path, bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
  });
  if (JSON.stringify(m.files) !== JSON.stringify(fileHashes)) throw new ArchiveIntegrityError('the manifest does not match the archive\'s files');
}
