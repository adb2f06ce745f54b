/** An ACME server on a fresh test context, driven through app.request, with an http-01 responder. */
import { createAcmeProtocol, type AcmeModule } from '../../protocols/acme/index.ts';
import type { AcmeSettingsInput } from '../../protocols/acme/settings.ts';
import { buildApp } from '../../src/server.ts';
import { makeTestContext, type Driver, type TestContext } from '../support/context.ts';
import { removeTempDirs } from '../support/openssl.ts';
import { Http01Responder, type Fetch } from './client.ts';

export interface AcmeHarness {
  t: TestContext;
  acme: AcmeModule;
  fetchFn: Fetch;
  responder: Http01Responder;
  close(): Promise<void>;
}

export async function startAcme(driver: Driver, overrides: AcmeSettingsInput = {}, responderHost = '127.0.0.1'): Promise<AcmeHarness> {
  const t = await makeTestContext(driver);
  const responder = await new Http01Responder().start(0, responderHost);
  const acme = createAcmeProtocol(
    // A long poll wait: answers carry the outcome however loaded the test machine is.
    { allowPrivateTargets: true, http01Port: responder.port, validationRetries: 0, validationTimeoutMs: 3000, pollWaitMs: 5000, ...overrides },
    {},
  );
  const app = await buildApp(t.ctx, [acme]);
  return {
    t,
    acme,
    responder,
    fetchFn: (u, i) => Promise.resolve(app.request(u, i)),
    async close() {
      await acme.drain();
      await responder.stop();
      await t.cleanup();
      removeTempDirs();
    },
  };
}
