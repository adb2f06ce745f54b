/**
 * `backup create`: one consistent snapshot (a REPEATABLE READ, READ ONLY transaction) of every
 * table and sequence, streamed through a cursor a page at a time into the sealed writer — never
 * the whole database in memory.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../db/client.ts';
import { execOn, ident, listMigrations, listSequences, listTables, qualified, type Exec, type TableInfo } from './catalog.ts';
import { FORMAT, line, rowLine, type FileRecord, type Manifest } from './records.ts';
import type { SealedWriter } from './sealed-stream.ts';

const PAGE = 500;

/** Data-directory files worth keeping: the HTTPS key and chain (else re-issued) and the root PEM. */
export const DATA_FILES = ['tls/server.key', 'tls/server.pem', 'root.pem'];

export interface DumpSource {
  database: Database;
  kek: Buffer;
  dataDir: string;
  settings: Record<string, unknown>;
}

export async function dumpDatabase(src: DumpSource, out: SealedWriter): Promise<Manifest> {
  let buffered: string[] = [];
  let size = 0;
  const flush = async () => {
    if (!buffered.length) return;
    const text = buffered.join('');
    buffered = [];
    size = 0;
    await out.write(Buffer.from(text, 'utf8'));
  };
  const put = async (s: string) => {
    buffered.push(s);
    size += s.length;
    if (size >= 256 * 1024) await flush();
  };
  const manifest = await src.database.db.transaction(
    async (tx) => {
      const exec = execOn(tx);
      // Text forms that do not depend on the server's settings: the archive reads the same everywhere.
      await exec(`set local timezone = 'UTC'`);
      await exec(`set local bytea_output = 'hex'`);
      const tables = await listTables(exec);
      const createdAt = new Date().toISOString();
      const m: Manifest = { type: 'manifest', createdAt, driver: src.database.kind, tables: [], sequences: [], files: [], totalRows: 0 };
      await put(line({ type: 'meta', format: FORMAT, createdAt, driver: src.database.kind, migrations: await listMigrations(exec), kek: src.kek.toString('base64'), settings: src.settings }));
      for (const f of dataFiles(src.dataDir)) {
        m.files.push({ path: f.path, bytes: Buffer.from(f.data, 'base64').length, sha256: sha256(Buffer.from(f.data, 'base64')) });
        await put(line(f));
      }
      for (const t of tables) m.tables.push(await dumpTable(exec, t, put));
      m.sequences = await listSequences(exec);
      await put(line({ type: 'sequences', list: m.sequences }));
      m.totalRows = m.tables.reduce((a, t) => a + t.rows, 0);
      await put(line(m));
      return m;
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  await flush();
  await out.finish();
  return manifest;
}

async function dumpTable(exec: Exec, t: TableInfo, put: (s: string) => Promise<void>) {
  await put(line({ type: 'table', name: t.name, columns: t.columns }));
  const hash = createHash('sha256');
  let rows = 0;
  await exec(`declare certgate_dump no scroll cursor for select row_to_json(t)::text as j from ${qualified(t.name)} t order by ${t.orderBy.map((c) => `t.${ident(c)}`).join(', ')}`);
  for (;;) {
    const page = await exec(`fetch ${PAGE} from certgate_dump`);
    for (const r of page) {
      const json = String(r.j);
      hash.update(json).update('\n');
      await put(rowLine(json));
    }
    rows += page.length;
    if (page.length < PAGE) break;
  }
  await exec(`close certgate_dump`);
  const sha = hash.digest('hex');
  await put(line({ type: 'end', name: t.name, rows, sha256: sha }));
  return { name: t.name, rows, sha256: sha };
}

function dataFiles(dataDir: string): FileRecord[] {
  const out: FileRecord[] = [];
  for (const path of DATA_FILES) {
    const file = join(dataDir, path);
    if (!existsSync(file)) continue;
    out.push({ type: 'file', path, mode: statSync(file).mode & 0o777, data: readFileSync(file).toString('base64') });
  }
  return out;
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Rough size of what will be dumped (bytes of the tables), for a progress bar that knows no row count. */
export async function estimateBytes(database: Database): Promise<number> {
  const [r] = await execOn(database.db)(`select coalesce(sum(pg_table_size(c.oid)), 0)::text as n from pg_class c
      join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'p')`);
  return Number(r?.n ?? 0);
}
