import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '../../bin/certgate.mjs');
const dataDir = mkdtempSync(join(tmpdir(), 'certgate-acme-cli-'));
const certgate = (...args: string[]) => {
  const env: NodeJS.ProcessEnv = { ...process.env, CERTGATE_DATA_DIR: dataDir, CERTGATE_LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  return spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 120_000 });
};

describe('certgate acme eab (CLI through the admin API)', { timeout: 300_000 }, () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates a key shown once, lists it, disables it; an unknown kid is a client error', () => {
    // Only serve and init create a data directory.
    const init = certgate('init');
    expect(init.status, init.stderr).toBe(0);
    const created = certgate('acme', 'eab', 'create', '--note', 'web fleet', '--json');
    expect(created.status, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { kid: string; hmacKey: string };
    expect(key.kid).toMatch(/\S/);
    expect(Buffer.from(key.hmacKey, 'base64url').length).toBeGreaterThanOrEqual(32);

    const listed = certgate('acme', 'eab', 'list', '--json');
    expect(listed.status, listed.stderr).toBe(0);
    const keys = JSON.parse(listed.stdout) as { kid: string; disabled: boolean; note: string }[];
    expect(keys).toEqual([expect.objectContaining({ kid: key.kid, disabled: false, note: 'web fleet' })]);
    expect(listed.stdout).not.toContain(key.hmacKey);

    expect(certgate('acme', 'eab', 'disable', key.kid).status).toBe(0);
    const after = JSON.parse(certgate('acme', 'eab', 'list', '--json').stdout) as { disabled: boolean }[];
    expect(after[0].disabled).toBe(true);

    const unknown = certgate('acme', 'eab', 'disable', 'no-such-kid');
    expect(unknown.status).toBe(4); // not found (README, exit codes)
    expect(unknown.stderr).toMatch(/certgate: .*EAB key/);
  });
});
