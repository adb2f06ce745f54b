import type { ProtocolModule } from '../../src/protocol.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { ChallengeStore } from './challenges.ts';
import { registerScepCommands } from './cli.ts';
import { loadScepKeys } from './identity.ts';
import { scepOpenApi } from './openapi.ts';
import { nextCaCert, pendingSuccessor } from './next-ca.ts';
import { mountScepRoutes } from './routes.ts';
import { ScepService } from './service.ts';
import { loadScepSettings, type ScepSettings, type ScepSettingsInput } from './settings.ts';

export interface ScepModule extends ProtocolModule {
  settings(): ScepSettings | undefined;
}

/**
 * The SCEP server (RFC 8894). Settings come from the environment (CERTGATE_SCEP_*) when mounted;
 * `overrides` (tests) take precedence.
 */
export function createScepProtocol(overrides: ScepSettingsInput = {}, env: NodeJS.ProcessEnv = process.env): ScepModule {
  let state: { settings: ScepSettings; challenges: ChallengeStore } | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'scep',
    registerCommands: registerScepCommands,
    openapi: scepOpenApi,
    async mount(app, ctx: ProtocolContext) {
      const settings = loadScepSettings(env, overrides);
      const keys = await loadScepKeys(ctx, settings);
      const challenges = new ChallengeStore(ctx.store);
      const service = new ScepService(ctx, settings, keys.identity, challenges);
      ctx.pipeline.onPersistSql('transaction-issued', ScepService.persistSql);
      state = { settings, challenges };
      mountScepRoutes(app, {
        ctx,
        settings,
        service,
        caCert: () => keys.caCert,
        nextCaCert: () => nextCaCert(ctx, keys.issuer, keys.identity),
        rolloverPending: async () => !!(await pendingSuccessor(ctx, keys.issuer)),
      });
      mountChallengeAdmin(ctx, settings, challenges);
    },
    endpoints(base) {
      return [{ label: 'SCEP', url: `${base.http}/scep` }];
    },
    start(ctx) {
      timer = setInterval(() => {
        state?.challenges.sweep().catch((err) => ctx.log.error({ err }, 'scep: challenge sweep failed'));
      }, 3_600_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
    settings: () => state?.settings,
  };
}

/** POST /api/v1/scep/challenges {label?, ttlSeconds?} → a one-time challenge (officer or above). */
function mountChallengeAdmin(ctx: ProtocolContext, settings: ScepSettings, challenges: ChallengeStore): void {
  const admin = ctx.adminRouter();
  admin.post('/challenges', ctx.http.requireRole('officer'), async (c) => {
    let body: { label?: unknown; ttlSeconds?: unknown };
    try {
      body = ((await ctx.http.jsonBody(c, { maxBytes: 4096 })) ?? {}) as typeof body;
    } catch {
      return c.json({ error: 'BadRequest', message: 'the body must be a small JSON object' }, 400);
    }
    const label = body.label === undefined ? 'default' : body.label;
    if (typeof label !== 'string' || !settings.labels[label]) return c.json({ error: 'BadRequest', message: 'unknown SCEP label' }, 400);
    const ttl = body.ttlSeconds === undefined ? settings.challengeTtl : body.ttlSeconds;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 30 * 86400) return c.json({ error: 'BadRequest', message: 'ttlSeconds: 1 to 2592000' }, 400);
    const operator = c.get('operator');
    const r = await challenges.create(label, ttl, operator ? `operator:${operator.name}` : 'admin');
    await ctx.audit.record({ actor: operator ? `operator:${operator.name}` : 'admin', action: 'scep.challenge.create', target: label, details: { expiresAt: r.expiresAt.toISOString() } });
    return c.json({ challenge: r.challenge, label, expiresAt: r.expiresAt.toISOString() }, 201);
  });
}

export const scepProtocol: ScepModule = createScepProtocol();
