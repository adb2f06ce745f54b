/**
 * The archive protects itself: a changed byte anywhere, a missing final chunk, a cut or an
 * appendix is refused by `verify` (and by `restore`, which then leaves the target empty); a wrong
 * passphrase or key file is named as such, never as damage; a target that holds data is refused.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupToFile } from '../../src/backup/create.ts';
import { ArchiveIntegrityError, BackupError } from '../../src/backup/errors.ts';
import { readArchive } from '../../src/backup/read-archive.ts';
import { restoreBackup } from '../../src/backup/restore.ts';
import { keyBytesSecret, passphraseSecret } from '../../src/backup/secret.ts';
import { CHUNK_SIZE, fileSource } from '../../src/backup/sealed-stream.ts';
import { execOn, fkOrder, nonEmptyTables } from '../../src/backup/catalog.ts';
import { openDatabase } from '../../src/db/client.ts';
import { drivers, makeTestContext, makeTestEnv, type TestContext } from '../support/context.ts';
import { issue, restoreFile, secret, workDir } from './helpers.ts';

const w = workDir();
afterAll(() => w.done());

/** Offsets of each chunk frame (after the header) and whether it is final. */
function frames(buf: Buffer): { at: number; len: number; final: boolean }[] {
  let at = 8 + 5 + buf.readUInt32BE(9);
  const out = [];
  while (at < buf.length) {
    const word = buf.readUInt32BE(at);
    const len = word & 0x7fffffff;
    out.push({ at, len, final: word >= 0x80000000 });
    at += 4 + len + 16;
  }
  return out;
}

const verify = (file: string, s = secret) => readArchive(fileSource(file), s);

describe.each(drivers)('archive integrity (%s)', (driver) => {
  let t: TestContext;
  let file: string;
  let good: Buffer;
  const variant = (name: string, bytes: Buffer) => {
    const f = join(w.dir, `${driver}-${name}.cgbk`);
    writeFileSync(f, bytes);
    return f;
  };

  beforeAll(async () => {
    t = await makeTestContext(driver);
    // Enough rows for several 64 KiB chunks.
    for (let i = 0; i < 80; i++) await issue(t.ctx);
    file = join(w.dir, `${driver}.cgbk`);
    await backupToFile(t.ctx, file, secret);
    good = readFileSync(file);
  });
  afterAll(() => t?.cleanup());

  it('has several chunks, only the last one final, and verifies', async () => {
    const f = frames(good);
    expect(f.length).toBeGreaterThan(2);
    expect(f.slice(0, -1).every((x) => !x.final && x.len === CHUNK_SIZE)).toBe(true);
    expect(f.at(-1)!.final).toBe(true);
    const s = await verify(file);
    expect(s.manifest.tables.find((x) => x.name === 'certificates')!.rows).toBeGreaterThanOrEqual(80);
    expect(JSON.stringify(s)).not.toContain(t.ctx.kek.toString('base64'));
  });

  it('refuses a changed byte in any chunk, in the header, and in a length field', async () => {
    const f = frames(good);
    for (const at of [f[0].at + 100, f[1].at + 4 + 7, f.at(-1)!.at + 4 + 1, f.at(-1)!.at + f.at(-1)!.len + 4 + 5 /* the tag */]) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x01;
      await expect(verify(variant(`flip-${at}`, bad))).rejects.toThrow(ArchiveIntegrityError);
    }
    const head = Buffer.from(good);
    const createdAt = head.indexOf('"createdAt":"') + 14;
    head[createdAt] = head[createdAt] === 0x31 ? 0x32 : 0x31; // a digit of the year: still valid JSON
    await expect(verify(variant('header', head))).rejects.toThrow(/does not authenticate/);
    const flag = Buffer.from(good);
    flag[f[0].at] ^= 0x80; // marks the first chunk final
    await expect(verify(variant('flag', flag))).rejects.toThrow(ArchiveIntegrityError);
  });

  it('refuses a truncated archive, a dropped final chunk, swapped chunks and trailing bytes', async () => {
    const f = frames(good);
    await expect(verify(variant('cut', good.subarray(0, good.length - 10)))).rejects.toThrow(/truncated/);
    await expect(verify(variant('nofinal', good.subarray(0, f.at(-1)!.at)))).rejects.toThrow(/without its final chunk \(truncated\)/);
    const swapped = Buffer.concat([good.subarray(0, f[0].at), good.subarray(f[1].at, f[2].at), good.subarray(f[0].at, f[1].at), good.subarray(f[2].at)]);
    await expect(verify(variant('swap', swapped))).rejects.toThrow(/does not authenticate/);
    await expect(verify(variant('tail', Buffer.concat([good, Buffer.from('x')])))).rejects.toThrow(/bytes follow the final chunk/);
    await expect(verify(variant('junk', Buffer.from('not an archive at all')))).rejects.toThrow(/not a Certgate backup archive/);
  });

  it('names a wrong passphrase or the wrong kind of secret, and accepts key files', async () => {
    await expect(verify(file, passphraseSecret('not the passphrase at all'))).rejects.toThrow(/wrong passphrase/);
    await expect(verify(file, passphraseSecret('not the passphrase at all'))).rejects.not.toThrow(ArchiveIntegrityError);
    const key = keyBytesSecret(Buffer.alloc(32, 7));
    await expect(verify(file, key)).rejects.toThrow(/sealed under a passphrase/);
    expect(() => passphraseSecret('short')).toThrow(/at least 12 characters/);
    const kf = join(w.dir, `${driver}-kf.cgbk`);
    await backupToFile(t.ctx, kf, key);
    await expect(verify(kf, key)).resolves.toBeDefined();
    await expect(verify(kf, keyBytesSecret(Buffer.alloc(32, 8)))).rejects.toThrow(/wrong key file/);
  });

  it('restores nothing from a damaged archive: the target stays empty', async () => {
    const f = frames(good);
    const bad = Buffer.from(good);
    bad[f.at(-2)!.at + 50] ^= 0xff; // late: many rows are already inserted when it is found
    const dst = await makeTestEnv(driver);
    try {
      await expect(restoreFile(variant('late-flip', bad), { dataDir: dst.dataDir, databaseUrl: dst.databaseUrl })).rejects.toThrow(ArchiveIntegrityError);
      expect(readdirSync(dst.dataDir)).toEqual([]);
      if (dst.databaseUrl) {
        const d = await openDatabase({ url: dst.databaseUrl, migrate: false });
        expect(await nonEmptyTables(execOn(d.db))).toEqual([]);
        await d.close();
      }
      // …and a later restore of the good archive into it succeeds.
      await restoreFile(file, { dataDir: dst.dataDir, databaseUrl: dst.databaseUrl });
      expect(existsSync(join(dst.dataDir, 'kek'))).toBe(true);
    } finally {
      await dst.cleanup();
    }
  });

  it('with CERTGATE_KEK set on the target: only the archive\'s KEK is accepted, and no kek file is written', async () => {
    const dst = await makeTestEnv(driver);
    try {
      const target = { dataDir: dst.dataDir, databaseUrl: dst.databaseUrl };
      await expect(restoreBackup(file, secret, { ...target, configuredKek: Buffer.alloc(32, 1) })).rejects.toThrow(/CERTGATE_KEK is set and is not the key-encryption key of the archive/);
      expect(readdirSync(dst.dataDir)).toEqual([]);
      const r = await restoreBackup(file, secret, { ...target, configuredKek: Buffer.from(t.ctx.kek) });
      expect(r.kekWritten).toBeUndefined();
      expect(existsSync(join(dst.dataDir, 'kek'))).toBe(false);
    } finally {
      await dst.cleanup();
    }
  }, 300_000);

  it('refuses a target that holds data', async () => {
    await expect(restoreFile(file, { dataDir: t.dataDir, databaseUrl: t.databaseUrl })).rejects.toThrow(/refusing to restore into .*not empty/);
    if (t.databaseUrl) {
      const dst = await makeTestEnv(driver);
      try {
        await expect(restoreFile(file, { dataDir: dst.dataDir, databaseUrl: t.databaseUrl })).rejects.toThrow(/refusing to restore into .*already holds data \(tables .*certificates/);
      } finally {
        await dst.cleanup();
      }
    }
    await expect(restoreFile(file, { dataDir: t.dataDir })).rejects.toThrow(BackupError);
    // The refused target is untouched and still serves.
    expect(existsSync(join(t.dataDir, 'kek'))).toBe(true);
    if (!t.databaseUrl) expect(existsSync(join(t.dataDir, 'db', 'PG_VERSION'))).toBe(true);
    expect((await t.ctx.issuers.get('dev-issuing'))?.id).toBe('dev-issuing');
  });
});

describe('table order', () => {
  it('puts a table after the tables its foreign keys name, keeps self-references and cycles', () => {
    const t = (name: string) => ({ name });
    const names = (x: { name: string }[]) => x.map((y) => y.name);
    expect(names(fkOrder([t('a'), t('b'), t('c'), t('d')], [['a', 'c'], ['c', 'd'], ['b', 'b']]))).toEqual(['b', 'd', 'c', 'a']);
    expect(names(fkOrder([t('x'), t('y'), t('z')], [['x', 'y'], ['y', 'x']]))).toEqual(['z', 'x', 'y']);
  });
});
