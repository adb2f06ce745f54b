import type { OpenApiFragment } from '../../src/admin/openapi.ts';
import type { Context } from '../../src/context.ts';
import type { ProtocolModule } from '../../src/protocol.ts';
import { legacyCoreContext } from '../../src/protocol-context-impl.ts';
import { registerOcspCommands } from './cli.ts';
import { ocspFastPath } from './fast-path.ts';
import { ocspOpenApi } from './openapi.ts';
import { ResponderManager } from './responders.ts';
import { mountOcspAdmin, mountOcspRoutes } from './routes.ts';
import { OcspService } from './service.ts';
import { serverSettingsFromEnv, type ServerSettings } from './settings.ts';

export { OcspService } from './service.ts';
export { ResponderManager } from './responders.ts';

export interface OcspModule extends ProtocolModule {
  /** The responder of the context it was mounted on (tests, CLI wiring). */
  service(ctx: Context): OcspService | undefined;
  manager(ctx: Context): ResponderManager | undefined;
}

/**
 * The OCSP protocol module: `POST /ocsp`, `GET /ocsp/<base64>` and the management API under
 * `/api/v1/ocsp/`. Settings come from CERTGATE_OCSP_* (see settings.ts) unless given.
 */
export function createOcspProtocol(opts: { settings?: Partial<ServerSettings> & { defaults?: Partial<ServerSettings['defaults']> } } = {}): OcspModule {
  const byCtx = new Map<Context, { svc: OcspService; mgr: ResponderManager }>();
  let started: OcspService[] = [];
  return {
    name: 'ocsp',
    registerCommands: (program, loadConfig, open) => registerOcspCommands(program, loadConfig, open),
    openapi: ocspOpenApi as OpenApiFragment,
    async mount(app, pctx) {
      const ctx = legacyCoreContext(pctx);
      let entry = byCtx.get(ctx);
      if (!entry) {
        const svc = new OcspService(ctx, serverSettingsFromEnv(process.env, opts.settings));
        const mgr = new ResponderManager(ctx, svc);
        await svc.init();
        entry = { svc, mgr };
        byCtx.set(ctx, entry);
      }
      mountOcspRoutes(app, ctx, entry.svc);
      mountOcspAdmin(app, ctx, entry.svc, entry.mgr);
    },
    nodeHandler(pctx) {
      const ctx = legacyCoreContext(pctx);
      const e = byCtx.get(ctx);
      return e ? ocspFastPath(ctx, e.svc, ocspAccessLog(process.env.CERTGATE_OCSP_ACCESS_LOG, ctx.config.accessLog)) : undefined;
    },
    endpoints(base) {
      return [
        { label: 'OCSP (POST, GET)', url: `${base.http}/ocsp` },
        { label: 'OCSP management', url: `${base.http}/api/v1/ocsp/issuers` },
      ];
    },
    async start(pctx) {
      const ctx = legacyCoreContext(pctx);
      const e = byCtx.get(ctx);
      if (!e) return;
      await e.svc.start();
      started.push(e.svc);
    },
    async stop() {
      const s = started;
      started = [];
      for (const svc of s) await svc.stop();
      // Unsubscribe contexts that were mounted but never started too.
      for (const [, e] of byCtx) await e.svc.stop();
      byCtx.clear();
    },
    service: (ctx) => byCtx.get(ctx)?.svc,
    manager: (ctx) => byCtx.get(ctx)?.mgr,
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
