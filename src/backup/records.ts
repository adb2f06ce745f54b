/**
 * The plaintext inside the sealed envelope: one record per line.
 *
 *   {"type":"meta", …}                          first: when, from which driver, migrations, the KEK
 *   {"type":"file", "path", "mode", "data"}     data-directory files (server TLS key and chain, root.pem)
 *   {"type":"table", "name", "columns"}         then one line per row: "r" + the row as PostgreSQL's row_to_json
 *   {"type":"end", "name", "rows", "sha256"}    SHA-256 over the table's row lines (without the "r")
 *   {"type":"sequences", "list"}                every sequence's last_value / is_called
 *   {"type":"manifest", …}                      last: per-table counts and hashes, files, sequences
 *
 * Rows travel as row_to_json text, which both drivers (same PostgreSQL inside) write and read the
 * same way: bytea as "\x…" hex, timestamptz ISO 8601 with its offset, arrays and jsonb as JSON.
 */
import type { MigrationState, SequenceState } from './catalog.ts';

export const FORMAT = 1;

export interface MetaRecord {
  type: 'meta';
  format: number;
  createdAt: string;
  driver: 'pglite' | 'postgres';
  migrations: MigrationState[];
  /** The key-encryption key, base64 — inside the encrypted payload only. */
  kek: string;
  /** The server's settings when the backup was made, for the record (secrets left out); not applied on restore. */
  settings: Record<string, unknown>;
}

export interface FileRecord {
  type: 'file';
  path: string;
  mode: number;
  data: string;
}

export interface TableRecord {
  type: 'table';
  name: string;
  columns: string[];
}

export interface EndRecord {
  type: 'end';
  name: string;
  rows: number;
  sha256: string;
}

export interface SequencesRecord {
  type: 'sequences';
  list: SequenceState[];
}

export interface Manifest {
  type: 'manifest';
  createdAt: string;
  driver: 'pglite' | 'postgres';
  tables: { name: string; rows: number; sha256: string }[];
  sequences: SequenceState[];
  files: { path: string; bytes: number; sha256: string }[];
  totalRows: number;
}

export type HeadRecord = MetaRecord | FileRecord | TableRecord | EndRecord | SequencesRecord | Manifest;
export type AnyRecord = HeadRecord | { type: 'row'; text: string };

/** Splits the plaintext into records; a row keeps its exact text (hashes are over it). */
export async function* records(plaintext: AsyncIterable<Buffer>): AsyncGenerator<AnyRecord> {
  let rest = '';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of plaintext) {
    const text = rest + decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) yield parseLine(line);
  }
  if (rest.length) yield parseLine(rest);
}

function parseLine(line: string): AnyRecord {
  if (line.startsWith('r')) return { type: 'row', text: line.slice(1) };
  return JSON.parse(line) as HeadRecord;
}

export const line = (r: HeadRecord) => JSON.stringify(r) + '\n';
export const rowLine = (json: string) => 'r' + json + '\n';
