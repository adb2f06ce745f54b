import type { ProtocolModule } from '../../src/protocol.ts';
import { mountAdmin } from './admin.ts';
import { registerCmpCommands } from './cli.ts';
import { answerSigner } from './protection.ts';
import { mountRoutes } from './routes.ts';
import { SecretStore } from './secrets.ts';
import { CmpService } from './service.ts';
import { claimOnPersist } from './transactions.ts';
import { cmpSettings, type CmpSettings } from './settings.ts';

/**
 * The CMP adapter: `POST /cmp[/<alias>]` (RFC 9810/9483 over RFC 9811 HTTP), the shared-secret
 * admin API and `certgate cmp secret …`, and a sweep revoking certificates never confirmed.
 * `settings` override the environment (tests).
 */
export function createCmpProtocol(opts: { settings?: Partial<CmpSettings> } = {}): ProtocolModule & { services: CmpService[] } {
  const sweeps = new Set<NodeJS.Timeout>();
  const services: CmpService[] = [];
  return {
    name: 'cmp',
    services,
    registerCommands: (program, loadConfig, open) => registerCmpCommands(program, loadConfig, open),
    async mount(app, ctx) {
      const settings = { ...cmpSettings(), ...opts.settings };
      const secrets = new SecretStore(ctx, settings.secretCacheMs);
      const service = new CmpService(ctx, settings, secrets);
      ctx.pipeline.onPersistSql('transaction', claimOnPersist);
      services.push(service);
      mountAdmin(ctx, secrets);
      // The default issuer's CMP signer identity is made now, not by the first signed answer.
      const d = ctx.issuers.default();
      if (d) await answerSigner(ctx, d.id);
      mountRoutes(app, ctx, settings, service);
      let running = false;
      const t = setInterval(() => {
        if (running) return;
        running = true;
        service
          .sweep()
          .catch((e) => ctx.log.warn({ err: e }, 'cmp: unconfirmed sweep failed'))
          .finally(() => (running = false));
      }, settings.sweepMs);
      t.unref();
      sweeps.add(t);
    },
    stop() {
      for (const t of sweeps) clearInterval(t);
      sweeps.clear();
    },
    endpoints(base) {
      return [{ label: 'CMP (openssl cmp -server)', url: `${base.http}/cmp[/<alias>]` }];
    },
  };
}

export const cmpProtocol = createCmpProtocol();
