import type { OpenApiFragment } from '../../src/admin/openapi.ts';
import type { ProtocolModule } from '../../src/protocol.ts';
import { mountAdmin } from './admin.ts';
import { loadEmcaSettings } from './settings.ts';
import { registerEmcaCommands } from './cli.ts';
import { registerEmcaRecoveryCommands } from './recovery-cli.ts';
import { emcaOpenApi, emcaOpenApiDocument } from './openapi.ts';
import { ClientStore } from './clients.ts';
import { PasswordCache } from './crypto.ts';
import { EmcaService } from './service.ts';
import { mountV4 } from './v4.ts';
import { mountV5 } from './v5.ts';
import { mountEsignModule } from './esign/index.ts';
import { mountKeyRecovery } from './recovery.ts';
import { mountV5Manage } from './v5-manage.ts';

/**
 * The emCA adapter: Open API V4 (`/emCAServices/rest/*`), V5 JSON (`/emca/v5/*`), client admin API,
 * the `certgate emca-client` commands and the OpenAPI paths merged into /api/v1/openapi.json.
 */
export const emcaProtocol: ProtocolModule = {
  name: 'emca',
  registerCommands: (program, loadConfig, open) => {
    registerEmcaCommands(program, loadConfig, open as never);
    registerEmcaRecoveryCommands(program, loadConfig, open as never);
  },
  openapi: emcaOpenApi as OpenApiFragment,
  async mount(app, ctx) {
    const s = loadEmcaSettings();
    const clients = new ClientStore(ctx);
    await clients.ensureSigningProfile();
    const svc = new EmcaService(ctx);
    await svc.profileIds();
    const passwords = new PasswordCache();
    mountAdmin(ctx, clients);
    mountV4(app, { ctx, svc, clients, passwords, bodyLimit: s.bodyLimit, emKeyRequired: s.emKeyRequired });
    mountV5(app, { ctx, svc, clients, passwords, tokenMaxMinutes: s.v5TokenMaxMinutes });
    // After mountV5: its token middleware on /emca/v5/* authenticates the eSign routes too.
    await mountEsignModule(app, ctx, svc);
    mountKeyRecovery(ctx);
    mountV5Manage(app as never, ctx);
    app.get('/emca/openapi.json', (c) => c.json(emcaOpenApiDocument(ctx.config.publicUrl)));
  },
  endpoints(base) {
    return [
      { label: 'emCA Open API V4', url: `${base.https}/emCAServices/rest/<method>` },
      { label: 'emCA API V5', url: `${base.https}/emca/v5` },
    ];
  },
};
