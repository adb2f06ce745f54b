/**
 * The emCA fuzz target (fuzz/targets/emca.ts) builds inputs that pass the envelope — emKey, AES,
 * credentials, the client's CMS signature — so the mutations reach the method parsers: most V4
 * answers to mutated signed contents are the methods' own refusals or successes, not the
 * envelope's ("Invalid input data", "Invalid request details found", "Signature verification
 * failed"); and nothing answers 5xx.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import target from '../../fuzz/targets/emca.ts';
import { Rng } from '../../fuzz/rng.ts';
import type { FuzzServer } from '../../fuzz/types.ts';
import { createOcspProtocol } from '../../protocols/ocsp/index.ts';
import { emcaProtocol } from '../../protocols/emca/index.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { buildApp } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { adminToken } from './helpers.ts';

const peer = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
const envelopeRefusals = new Set(['Invalid input data', 'Invalid request details found', 'Signature verification failed']);

for (const driver of drivers) describe(`emCA fuzz target reaches the parsers (${driver})`, () => {
  let t: TestContext;
  let app: Hono<AppEnv>;
  const dirs: string[] = [];
  const ocsp = createOcspProtocol({ settings: { pollMs: 3_600_000, autoProvision: false } });

  beforeAll(async () => {
    t = await makeTestContext(driver);
    app = await buildApp(t.ctx, [emcaProtocol, ocsp]);
    const server: FuzzServer = {
      baseUrl: 'http://127.0.0.1',
      adminToken: await adminToken(t.ctx),
      fetch: async (path, init) => app.request(path, init, peer),
      tempDir: () => {
        const d = mkdtempSync(join(tmpdir(), 'certgate-emca-fuzz-'));
        dirs.push(d);
        return d;
      },
    };
    await target.setup(server);
  });
  afterAll(async () => {
    await ocsp.stop?.();
    await t?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('mutated signed contents under a valid envelope get the methods\' answers; no 5xx', async () => {
    const rng = new Rng(1616);
    const byKind = new Map<string, string[]>();
    let sent = 0;
    for (let i = 0; i < 400 && sent < 120; i++) {
      const input = await target.next(rng);
      if (!input.kind.startsWith('v4.content.') && !input.kind.startsWith('v5.manage.')) continue;
      sent++;
      const res = await app.request(input.path, { method: input.method, headers: input.headers, body: input.body as string | undefined }, peer);
      expect(res.status, `${input.kind} ${input.path}`).toBeLessThan(500);
      const body = (await res.json()) as { result?: string };
      const group = input.kind.split('.').slice(0, 2).join('.');
      byKind.set(group, [...(byKind.get(group) ?? []), body.result ?? String(res.status)]);
    }
    const v4 = byKind.get('v4.content') ?? [];
    expect(v4.length).toBeGreaterThan(40);
    const reached = v4.filter((r) => !envelopeRefusals.has(r));
    // Every signed content passed the envelope and the signature check.
    expect(reached.length / v4.length).toBeGreaterThan(0.9);
    // ... and the methods' own answers vary (parsers, not one blanket refusal).
    expect(new Set(reached).size).toBeGreaterThan(5);
    const v5 = byKind.get('v5.manage') ?? [];
    expect(v5.length).toBeGreaterThan(3);
    expect(v5.every((r) => !/Access denied|Invalid request details/.test(r))).toBe(true);
  }, 300_000);
});
