import type { OpenApiFragment } from '../../src/admin/openapi.ts';
import type { ProtocolModule } from '../../src/protocol.ts';
import { estOpenApi } from './openapi.ts';
import { Authenticator, loadTrustStore } from './auth.ts';
import { mountAdmin } from './admin.ts';
import { registerEstCommands } from './cli.ts';
import { FullCmc } from './fullcmc.ts';
import { LabelStore } from './labels.ts';
import { mountRoutes } from './routes.ts';
import { estSettings } from './settings.ts';
import { UserStore } from './users.ts';

/**
 * The EST adapter (RFC 7030 + RFC 8951): `/.well-known/est/[<label>/]<operation>` on the HTTPS
 * listener, the `/api/v1/est/…` admin routes and `certgate est …`.
 */
export const estProtocol: ProtocolModule = {
  name: 'est',
  registerCommands: (program, loadConfig, open) => registerEstCommands(program, loadConfig, open),
  openapi: estOpenApi as OpenApiFragment,
  async mount(app, ctx) {
    const s = estSettings();
    const labels = new LabelStore(ctx);
    const users = new UserStore(ctx);
    const auth = new Authenticator(ctx, users, loadTrustStore(s.trustStore));
    mountAdmin(ctx, labels, users);
    const fullcmc = new FullCmc(ctx, users);
    mountRoutes(app, { ctx, labels, auth, fullcmc, bodyLimit: s.bodyLimit, retryAfter: s.retryAfter });
  },
  endpoints(base) {
    return [{ label: 'EST (RFC 7030)', url: `${base.https}/.well-known/est/` }];
  },
};
