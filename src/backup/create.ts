/**
 * Making an archive: to a file (scheduled backups; written as `<file>.partial` and renamed once
 * complete, so a file with the final name is always a whole archive) or as a byte stream (the
 * admin API's response body, with backpressure: the snapshot advances as fast as the client reads).
 */
import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { PassThrough, type Writable } from 'node:stream';
import type { Context } from '../context.ts';
import { redactUrl } from '../db/client.ts';
import { dumpDatabase, type DumpSource } from './dump.ts';
import type { Manifest } from './records.ts';
import { SealedWriter, type Sink } from './sealed-stream.ts';
import type { BackupSecret } from './secret.ts';

export function dumpSource(ctx: Context): DumpSource {
  const { kek: _kek, databaseUrl, backupPassphrase: _p, ...rest } = ctx.config;
  const settings = { ...rest, databaseUrl: databaseUrl ? redactUrl(databaseUrl) : undefined };
  return { database: ctx.database, kek: ctx.kek, dataDir: ctx.config.dataDir, settings };
}

/** Writes to a Node stream, waiting when it is full; fails if it is closed or destroyed first. */
export function streamSink(out: Writable): Sink {
  return async (buf) => {
    if (out.destroyed || out.writableEnded) throw new Error('the backup stream was closed');
    if (out.write(buf)) return;
    const ac = new AbortController();
    try {
      await Promise.race([
        once(out, 'drain', { signal: ac.signal }),
        once(out, 'close', { signal: ac.signal }).then(() => {
          throw new Error('the backup stream was closed');
        }),
      ]);
    } finally {
      ac.abort();
    }
  };
}

export async function backupToFile(ctx: Context, file: string, secret: BackupSecret): Promise<{ manifest: Manifest; bytes: number }> {
  const partial = `${file}.partial`;
  const out = createWriteStream(partial, { mode: 0o600 });
  try {
    const writer = await SealedWriter.open(streamSink(out), secret);
    const manifest = await dumpDatabase(dumpSource(ctx), writer);
    out.end();
    await once(out, 'finish');
    renameSync(partial, file);
    return { manifest, bytes: writer.bytes };
  } catch (e) {
    out.destroy();
    rmSync(partial, { force: true });
    throw e;
  }
}

/**
 * The archive as a stream the caller reads; `done` settles when the dump finished (or failed, in
 * which case the stream is destroyed, so a reader never takes a cut archive for a whole one —
 * and the archive itself, lacking its final chunk, would say so).
 */
export async function backupStream(ctx: Context, secret: BackupSecret): Promise<{ stream: PassThrough; done: Promise<Manifest> }> {
  const stream = new PassThrough({ highWaterMark: 256 * 1024 });
  const writer = await SealedWriter.open(streamSink(stream), secret);
  const done = dumpDatabase(dumpSource(ctx), writer).then(
    (m) => {
      stream.end();
      return m;
    },
    (e) => {
      stream.destroy(e instanceof Error ? e : new Error(String(e)));
      throw e;
    },
  );
  return { stream, done };
}
