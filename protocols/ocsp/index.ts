import type { OpenApiFragment } from '../../src/admin/openapi.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { ProtocolModule } from '../../src/protocol.ts';
import { registerOcspCommands } from './cli.ts';
import { ocspFastPath } from './fast-path.ts';
import { registerOcspMetrics } from './metrics.ts';
import { ocspOpenApi } from './openapi.ts';
import { ResponderManager } from './responders.ts';
import { mountOcspAdmin } from './admin.ts';
import { mountOcspRoutes } from './routes.ts';
import { OcspService } from './service.ts';
import { ocspResponderService } from './shared.ts';
import { serverSettingsFromEnv, type ServerSettings } from './settings.ts';

export { OcspService } from './service.ts';
export { ResponderManager } from './responders.ts';

export interface OcspModule extends ProtocolModule {
  /**
   * The responder mounted on this database (tests, benchmarks): pass the core context or the
   * protocol context's `store` — anything holding the database handle `db`. One per database, however
   * often the module is mounted on it.
   */
  service(on: { db: object }): OcspService | undefined;
  manager(on: { db: object }): ResponderManager | undefined;
}

/**
 * The OCSP protocol module: `POST /ocsp`, `GET /ocsp/<base64>` and the management API under
 * `/api/v1/ocsp/`. Settings come from CERTGATE_OCSP_* (see settings.ts) unless given.
 */
export function createOcspProtocol(opts: { settings?: Partial<ServerSettings> & { defaults?: Partial<ServerSettings['defaults']> } } = {}): OcspModule {
  const byDb = new Map<object, { svc: OcspService; mgr: ResponderManager }>();
  let started: OcspService[] = [];
  return {
    name: 'ocsp',
    registerCommands: (program, loadConfig, open) => registerOcspCommands(program, loadConfig, open),
    openapi: ocspOpenApi as OpenApiFragment,
    async mount(app, pctx) {
      let entry = byDb.get(pctx.store.db);
      if (!entry) {
        const svc = new OcspService(pctx, serverSettingsFromEnv(process.env, opts.settings));
        const mgr = new ResponderManager(pctx, svc);
        await svc.init();
        entry = { svc, mgr };
        byDb.set(pctx.store.db, entry);
      }
      registerOcspMetrics(pctx, () => byDb.get(pctx.store.db)?.svc);
      // Responder management for the other protocols (emCA V5 OCSP Management), through the seam.
      pctx.services.provide('ocsp.responders', ocspResponderService(pctx, entry.svc, entry.mgr));
      mountOcspRoutes(app, pctx, entry.svc);
      mountOcspAdmin(app, pctx, entry.svc, entry.mgr);
    },
    nodeHandler(pctx) {
      const e = byDb.get(pctx.store.db);
      return e ? ocspFastPath(pctx, e.svc, ocspAccessLog(process.env.CERTGATE_OCSP_ACCESS_LOG, pctx.config.accessLog)) : undefined;
    },
    endpoints(base) {
      return [
        { label: 'OCSP (POST, GET)', url: `${base.http}/ocsp` },
        { label: 'OCSP management', url: `${base.http}/api/v1/ocsp/issuers` },
      ];
    },
    async start(pctx) {
      const e = byDb.get(pctx.store.db);
      if (!e) return;
      await e.svc.start();
      started.push(e.svc);
    },
    async stop() {
      const s = started;
      started = [];
      for (const svc of s) await svc.stop();
      // Unsubscribe contexts that were mounted but never started too.
      for (const [, e] of byDb) await e.svc.stop();
      byDb.clear();
    },
    service: (on) => byDb.get(on.db)?.svc,
    manager: (on) => byDb.get(on.db)?.mgr,
  };
}

/** The OCSP adapter with settings from the environment. */
export const ocspProtocol: OcspModule = createOcspProtocol();

/** CERTGATE_OCSP_ACCESS_LOG (all | errors | off); default errors, or off when the core access log is off. */
function ocspAccessLog(v: string | undefined, core: 'all' | 'errors' | 'off'): 'all' | 'errors' | 'off' {
  if (v === 'all' || v === 'errors' || v === 'off') return v;
  if (v) throw new Error(`CERTGATE_OCSP_ACCESS_LOG: expected all, errors or off, not "${v}"`);
  return core === 'off' ? 'off' : 'errors';
}
