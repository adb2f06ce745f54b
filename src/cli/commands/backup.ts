/**
 * `certgate backup create | verify | restore | keygen`. `create` goes through the admin API
 * (POST /api/v1/backups: the running server's, or in-process when none runs) and streams the
 * archive to a file; `verify` reads a file alone; `restore` opens the target data directory and
 * database itself, holding the directory's lock. Exit codes: 0 ok, 1 a damaged archive or a
 * server error, 2 the caller's mistake (wrong secret, non-empty target, bad option).
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, statSync, writeFileSync, createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import { loadKek } from '../../ca/kek.ts';
import { streamSink } from '../../backup/create.ts';
import { ArchiveIntegrityError, BackupError } from '../../backup/errors.ts';
import { readArchive, type ArchiveSummary } from '../../backup/read-archive.ts';
import { restoreBackup } from '../../backup/restore.ts';
import { backupFileName } from '../../backup/schedule.ts';
import { fileSource } from '../../backup/sealed-stream.ts';
import { configuredSecret, passphraseSecret, resolveSecret, type BackupSecret } from '../../backup/secret.ts';
import { acquireDataDirLock } from '../../data-dir-lock.ts';
import { redactUrl } from '../../db/client.ts';
import { openAdminClient } from '../admin-client.ts';
import { progressBar } from '../progress.ts';
import { promptHidden } from '../prompt.ts';
import { CliError, EXIT_CLIENT, EXIT_ERROR, fail, group, printJson, table } from './shared.ts';

interface SecretOpts {
  passphraseFile?: string;
  keyFile?: string;
}

export function registerBackupCommands(program: Command, loadConfig: () => Config): void {
  const backup = group(program, 'backup').description('encrypted backups of the whole CA: create, verify, restore');
  const secretOptions = (c: Command) =>
    c
      .option('--passphrase-file <file>', 'read the passphrase from a file (else CERTGATE_BACKUP_PASSPHRASE[_FILE], else asked on the terminal)')
      .option('--key-file <file>', 'use a key file (at least 32 bytes; `certgate backup keygen`) instead of a passphrase');

  secretOptions(backup.command('create').description('write an encrypted archive of every table, the sealed keys and the KEK'))
    .option('--out <file>', 'archive file (default ./certgate-backup-<time>.cgbk)')
    .option('--json', 'print the manifest as JSON')
    .action((o: SecretOpts & { out?: string; json?: boolean }) => guarded(() => create(loadConfig(), o)));

  secretOptions(backup.command('verify <file>').description('check an archive (every chunk, every table hash, the manifest) without restoring it'))
    .option('--json', 'print the manifest as JSON')
    .action((file: string, o: SecretOpts & { json?: boolean }) => guarded(() => verify(loadConfig(), file, o)));

  secretOptions(backup.command('restore <file>').description('restore an archive into an empty data directory and empty database (refuses one that holds data)'))
    .action((file: string, o: SecretOpts) => guarded(() => restore(loadConfig(), file, o)));

  backup
    .command('keygen')
    .description('write a new random backup key file (32 bytes, base64, mode 0600)')
    .requiredOption('--out <file>', 'key file to create (never overwritten)')
    .action((o: { out: string }) =>
      guarded(async () => {
        writeFileSync(o.out, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
        process.stdout.write(`wrote ${o.out}: keep it apart from the backups it opens\n`);
      }),
    );
}

async function guarded(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ArchiveIntegrityError) fail(new CliError(e.message, EXIT_ERROR));
    else if (e instanceof BackupError) fail(new CliError(e.message, EXIT_CLIENT));
    else fail(e);
  }
}

/** Options, then the CERTGATE_BACKUP_* settings, then the terminal (asked twice when `confirm`). */
async function secretFor(config: Config, o: SecretOpts, confirm: boolean, required = true): Promise<BackupSecret | undefined> {
  const s = resolveSecret({ keyFile: o.keyFile, passphraseFile: o.passphraseFile }) ?? configuredSecret(config);
  if (s) return s;
  if (process.stdin.isTTY && process.stderr.isTTY) {
    const p = passphraseSecret(await promptHidden('Backup passphrase: '));
    if (confirm && (await promptHidden('Again: ')) !== (p as { passphrase: string }).passphrase) throw new BackupError('the two passphrases differ');
    return p;
  }
  if (required) throw new BackupError('no backup secret: give --passphrase-file or --key-file, or set CERTGATE_BACKUP_PASSPHRASE_FILE, CERTGATE_BACKUP_KEY_FILE or CERTGATE_BACKUP_PASSPHRASE');
  return undefined;
}

async function create(config: Config, o: SecretOpts & { out?: string; json?: boolean }): Promise<void> {
  const secret = await secretFor(config, o, true, false);
  const out = o.out ?? backupFileName(new Date());
  const body = !secret ? {} : secret.kind === 'passphrase' ? { passphrase: secret.passphrase } : { key: secret.key.toString('base64') };
  const client = await openAdminClient(config, [], 'backup create');
  const partial = `${out}.partial`;
  try {
    const res = await client.request('POST', '/backups', body);
    if (res.status !== 200 || !res.body) {
      const b = (await res.json().catch(() => ({}))) as { message?: string };
      throw new CliError(b.message ?? `HTTP ${res.status}`, res.status >= 500 ? EXIT_ERROR : EXIT_CLIENT);
    }
    const bar = progressBar('backup ', Number(res.headers.get('x-certgate-backup-estimate') ?? 0));
    const file = createWriteStream(partial, { mode: 0o600, flags: 'wx' });
    const sink = streamSink(file);
    let bytes = 0;
    try {
      for await (const chunk of Readable.fromWeb(res.body as never)) {
        await sink(chunk as Buffer);
        bar.update((bytes += (chunk as Buffer).length));
      }
      file.end();
      await once(file, 'finish');
    } finally {
      bar.stop();
      file.destroy();
    }
    // The server's stream ends early only by failing; reading it back proves the file whole.
    const summary = secret ? await readArchive(fileSource(partial), secret) : undefined;
    renameSync(partial, out);
    if (o.json) return printJson({ file: out, bytes, manifest: summary?.manifest });
    process.stdout.write(`wrote ${out} (${bytes} bytes${summary ? `, ${summary.manifest.totalRows} rows in ${summary.manifest.tables.length} tables, verified` : ''})\n`);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  } finally {
    await client.close();
  }
}

async function verify(config: Config, file: string, o: SecretOpts & { json?: boolean }): Promise<void> {
  const secret = (await secretFor(config, o, false))!;
  const bar = progressBar('verify ', statSync(file).size);
  let summary: ArchiveSummary;
  try {
    summary = await readArchive(fileSource(file), secret, {}, (n) => bar.update(n));
  } finally {
    bar.stop();
  }
  if (o.json) return printJson(summary);
  const m = summary.manifest;
  process.stdout.write(`${file}: OK — made ${m.createdAt} on ${m.driver}, ${m.totalRows} rows in ${m.tables.length} tables, ${m.sequences.length} sequences, ${m.files.length} files, key-encryption key included\n`);
  table(m.tables.filter((t) => t.rows > 0), [
    ['TABLE', (t) => t.name],
    ['ROWS', (t) => t.rows],
    ['SHA-256', (t) => t.sha256],
  ]);
}

async function restore(config: Config, file: string, o: SecretOpts): Promise<void> {
  statSync(file); // a missing file: ENOENT before anything is touched
  const secret = (await secretFor(config, o, false))!;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataDirLock(config.dataDir, 'cli', 'backup restore');
  const bar = progressBar('restore', statSync(file).size);
  try {
    const configuredKek = config.kek ? loadKek(config.dataDir, config.kek) : undefined;
    const r = await restoreBackup(file, secret, { dataDir: config.dataDir, databaseUrl: config.databaseUrl, configuredKek }, (n) => bar.update(n));
    bar.stop();
    const where = config.databaseUrl ? `PostgreSQL ${redactUrl(config.databaseUrl)}` : `PGlite in ${config.dataDir}`;
    process.stdout.write(
      `restored ${r.manifest.totalRows} rows in ${r.manifest.tables.length} tables (archive of ${r.manifest.createdAt}, ${r.manifest.driver}) into ${where}${r.upgraded ? ', then migrated to this version\'s schema' : ''}\n` +
        (r.kekWritten ? `key-encryption key written to ${r.kekWritten} (instances sharing this database need it as CERTGATE_KEK)\n` : ''),
    );
  } finally {
    bar.stop();
    lock.release();
  }
}
