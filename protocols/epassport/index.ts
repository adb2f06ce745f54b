import type { ProtocolModule } from '../../src/protocol.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { mountAdmin } from './admin.ts';
import { Authorities } from './authorities.ts';
import { registerCvcCommands } from './cli.ts';
import { Issuer } from './issue.ts';
import { mountJson } from './json.ts';
import { Messages } from './messages.ts';
import { epassportOpenApi } from './openapi.ts';
import { Registry } from './registry.ts';
import { loadEpassportSettings, type EpassportSettingsInput } from './settings.ts';
import { mountSoap } from './soap.ts';
import { CvStore } from './store.ts';

/**
 * The ePassport PKI (BSI TR-03110 CV certificates, TR-03129 SPOC messages): Certgate as CVCA,
 * DV and national SPOC. Messages at /epassport/v5/<operation> (JSON) and /epassport/soap (SOAP 1.1);
 * operators at /api/v1/epassport and `certgate cvc …`.
 */
export function createEpassportProtocol(overrides: EpassportSettingsInput = {}, env: NodeJS.ProcessEnv = process.env): ProtocolModule {
  return {
    name: 'epassport',
    registerCommands: registerCvcCommands,
    openapi: epassportOpenApi,
    mount(app, ctx: ProtocolContext) {
      const settings = loadEpassportSettings(env, overrides);
      const s = new CvStore(ctx);
      const authorities = new Authorities(s);
      const registry = new Registry(s);
      const issuer = new Issuer(s, registry);
      const messages = new Messages(s, issuer, authorities, registry, settings);
      mountJson(app, ctx, messages, settings);
      mountSoap(app, ctx, messages, settings);
      mountAdmin(ctx, { s, authorities, registry, issuer });
    },
    endpoints(base) {
      return [
        { label: 'ePassport SPOC (JSON)', url: `${base.https}/epassport/v5` },
        { label: 'ePassport SPOC (SOAP)', url: `${base.https}/epassport/soap` },
      ];
    },
  };
}

export const epassportProtocol: ProtocolModule = createEpassportProtocol();
