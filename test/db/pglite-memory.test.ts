/**
 * The embedded database's memory settings (issue 20, memory): PGlite's shared buffers come from
 * CERTGATE_PGLITE_SHARED_BUFFERS (default 16 MB, not PostgreSQL's 128 MB, which would stay resident in
 * its WASM memory for the process's life), and a serving process reopens a database it has just
 * created so that initdb's growth of that memory is dropped — with the data still there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'certgate-pglite-mem-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('PGlite memory settings', () => {
  it('defaults shared_buffers to 16 MB and takes CERTGATE_PGLITE_SHARED_BUFFERS', () => {
    expect(loadConfig({}, {}).pgliteSharedBuffersMb).toBe(16);
    expect(loadConfig({ CERTGATE_PGLITE_SHARED_BUFFERS: '48' }, {}).pgliteSharedBuffersMb).toBe(48);
    expect(() => loadConfig({ CERTGATE_PGLITE_SHARED_BUFFERS: 'lots' }, {})).toThrow(/CERTGATE_PGLITE_SHARED_BUFFERS/);
  });

  it('runs PGlite with the configured shared_buffers, and a reopened new database keeps its schema', async () => {
    const dataDir = fresh();
    const d = await openDatabase({ dataDir, pgliteSharedBuffersMb: 24, reopenFresh: true });
    try {
      const [sb] = await d.query<{ shared_buffers: string }>('show shared_buffers');
      expect(sb!.shared_buffers).toBe('24MB');
      // The migrations ran before the reopen; the serving instance sees their tables.
      const [t] = await d.query<{ ok: boolean }>("select to_regclass('public.certificates') is not null as ok");
      expect(t!.ok).toBe(true);
    } finally {
      await d.close();
    }
    const again = await openDatabase({ dataDir, mustExist: true });
    try {
      const [sb] = await again.query<{ shared_buffers: string }>('show shared_buffers');
      expect(sb!.shared_buffers).toBe('16MB');
    } finally {
      await again.close();
    }
  });
});
