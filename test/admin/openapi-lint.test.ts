/**
 * Both OpenAPI documents Certgate serves — /api/v1/openapi.json (admin API with every protocol's
 * fragment merged in) and /emca/openapi.json — as the running app serves them, checked by an
 * independent validator: Redocly CLI's recommended rules must report no error. Plus what the
 * issue asked beyond "valid": every operation has a unique operationId, no OpenAPI 3.1 `type:
 * "null"` in a 3.0 document, every security requirement names a defined scheme.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocols } from '../../protocols/index.ts';
import { buildApp } from '../../src/server.ts';
import { finishOpenApi, operationIdFor } from '../../src/admin/openapi-finish.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';

const redocly = resolve(import.meta.dirname, '../../node_modules/.bin/redocly');
type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components?: { securitySchemes?: Record<string, unknown> }; security?: Record<string, unknown>[] };

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer: string }[];
}

function lint(doc: unknown, dir: string, name: string): LintProblem[] {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(doc, null, 2));
  let out: string;
  try {
    out = execFileSync(redocly, ['lint', file, '--format=json', '--max-problems=1000'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // Exit 1 on errors: the JSON report is still on stdout.
    out = (e as { stdout: string }).stdout;
  }
  return (JSON.parse(out) as { problems: LintProblem[] }).problems;
}

const operations = (doc: Doc) => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([m]) => m !== 'parameters').map(([method, op]) => ({ path, method, op })));

describe.each(drivers)('OpenAPI documents as served, linted by Redocly (%s)', (driver) => {
  let t: TestContext;
  let app: Hono<any>;
  let dir: string;
  const docs: Record<string, Doc> = {};

  beforeAll(async () => {
    t = await makeTestContext(driver);
    app = await buildApp(t.ctx, protocols);
    dir = mkdtempSync(join(tmpdir(), 'certgate-openapi-'));
    for (const [name, url] of [['admin', '/api/v1/openapi.json'], ['emca', '/emca/openapi.json']]) {
      const res = await app.request(url);
      expect(res.status).toBe(200);
      docs[name] = (await res.json()) as Doc;
    }
  }, 120_000);
  afterAll(async () => {
    await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['admin', 'emca'])('%s: no Redocly error', (name) => {
    const errors = lint(docs[name], dir, name).filter((p) => p.severity === 'error');
    expect(errors.map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`)).toEqual([]);
  });

  it.each(['admin', 'emca'])('%s: every operation has a unique operationId and names defined security schemes', (name) => {
    const doc = docs[name];
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(name === 'admin' ? 60 : 30);
    const ids = ops.map((o) => o.op.operationId);
    expect(ids.filter((id) => typeof id !== 'string')).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const schemes = Object.keys(doc.components?.securitySchemes ?? {});
    const named = [...(doc.security ?? []), ...ops.flatMap((o) => (o.op.security ?? []) as Record<string, unknown>[])].flatMap((r) => Object.keys(r));
    expect(named.filter((s) => !schemes.includes(s))).toEqual([]);
    expect(JSON.stringify(doc)).not.toMatch(/"type":"null"/);
  });

  it('emca: every V4 operation declares its security (emKey), the token endpoint none', () => {
    const v4 = operations(docs.emca).filter((o) => o.path.startsWith('/emCAServices/rest/'));
    expect(v4.length).toBeGreaterThan(15);
    for (const o of v4) expect(o.op.security, o.path).toEqual([{ emKey: [] }]);
    expect(docs.emca.paths['/emca/v5/auth/token'].post.security).toEqual([]);
    // In the admin document too, where the root's bearerAuth would otherwise apply to them.
    expect(docs.admin.paths['/emCAServices/rest/createCertificate'].post.security).toEqual([{ emKey: [] }]);
  });
});

describe('finishOpenApi rules', () => {
  it('derives camelCase ids from method and path, keeps given ones, makes clashes unique', () => {
    expect(operationIdFor('get', '/api/v1/issuers/{id}/crl')).toBe('getIssuersByIdCrl');
    expect(operationIdFor('post', '/emCAServices/rest/createCertificate')).toBe('postEmCAServicesRestCreateCertificate');
    const doc = finishOpenApi({
      openapi: '3.0.3',
      paths: { '/a-b': { get: { responses: {} } }, '/a/b': { get: { responses: {} }, post: { operationId: 'mine', responses: {} } } },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } }, schemas: { X: { type: 'object' } } },
    }) as any;
    expect(doc.paths['/a-b'].get.operationId).toBe('getAB');
    expect(doc.paths['/a/b'].get.operationId).toBe('getAB2');
    expect(doc.paths['/a/b'].post.operationId).toBe('mine');
  });

  it('points `bearer` at the http bearer scheme; turns null members into nullable', () => {
    const doc = finishOpenApi({
      openapi: '3.0.3',
      security: [{ bearer: [] }],
      paths: {},
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
        schemas: { R: { type: 'object' }, S: { type: 'object', properties: { a: { anyOf: [{ type: 'string' }, { type: 'null' }] }, b: { oneOf: [{ $ref: '#/components/schemas/R' }, { type: 'null' }] }, c: { type: ['integer', 'null'] } } } },
      },
    }) as any;
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    const p = doc.components.schemas.S.properties;
    expect(p.a).toEqual({ type: 'string', nullable: true });
    expect(p.b).toEqual({ type: 'object', allOf: [{ $ref: '#/components/schemas/R' }], nullable: true });
    expect(p.c).toEqual({ type: 'integer', nullable: true });
  });
});
