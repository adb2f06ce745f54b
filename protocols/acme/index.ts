import type { ProtocolModule } from '../../src/protocol.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { registerAcmeCommands } from './cli.ts';
import { mountEabAdmin } from './eab.ts';
import { IssuanceRunner, orderIssuedHook } from './finalize.ts';
import { NonceService } from './nonce.ts';
import { mountAcme } from './routes.ts';
import { loadAcmeSettings, type AcmeSettings, type AcmeSettingsInput } from './settings.ts';
import { Validator } from './validation/index.ts';
import { lt } from 'drizzle-orm';
import { acmeRateLimits } from './schema.ts';

export interface AcmeModule extends ProtocolModule {
  /** Waits for background validations and issuances (tests, shutdown). */
  drain(): Promise<void>;
  /**
   * The periodic job (every minute once started): drops expired nonces and old rate-limit
   * windows, and resumes validations and issuances a stopped instance left unfinished.
   */
  sweep(): Promise<void>;
  settings(): AcmeSettings | undefined;
  /** Whether this instance knows an account's key (its newOrder then takes one statement). */
  knowsAccountKey(accountId: string): boolean;
}

/**
 * The ACME server (RFC 8555, RFC 8737, RFC 8738, RFC 9773). Settings come from the environment
 * (CERTGATE_ACME_*) when mounted; `overrides` (tests) take precedence.
 */
export function createAcmeProtocol(overrides: AcmeSettingsInput = {}, env: NodeJS.ProcessEnv = process.env): AcmeModule {
  let state: { settings: AcmeSettings; validator: Validator; runner: IssuanceRunner; nonces: NonceService; pctx: ProtocolContext } | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'acme',
    registerCommands: registerAcmeCommands,
    async mount(app, pctx) {
      const settings = loadAcmeSettings(env, overrides);
      const log = pctx.log;
      const nonces = new NonceService(pctx.store, pctx.secrets, settings.nonceLifetime);
      await nonces.init();
      const validator = new Validator(pctx.store, settings, log);
      const runner = new IssuanceRunner(pctx, log);
      pctx.pipeline.onPersistSql('order-issued', orderIssuedHook);
      state = { settings, validator, runner, nonces, pctx };
      mountEabAdmin(pctx);
      mountAcme(app, { ctx: pctx, settings, nonces, validator, runner, log });
    },
    endpoints(base) {
      return [{ label: 'ACME directory', url: `${state?.settings.baseUrl ?? base.https}/acme/directory` }];
    },
    start(pctx) {
      timer = setInterval(() => {
        this.sweep().catch((err) => pctx.log.error({ err }, 'acme: scheduled sweep failed'));
      }, 60_000);
      timer.unref();
    },
    async sweep() {
      if (!state) return;
      await state.nonces.sweep();
      await state.runner.recover(120);
      await state.validator.recover();
      const w = Math.floor(Date.now() / 1000 / state.settings.rateWindow) - 1;
      await state.pctx.store.db.delete(acmeRateLimits).where(lt(acmeRateLimits.window, w));
    },
    async stop() {
      if (timer) clearInterval(timer);
      state?.validator.stop();
      await this.drain();
    },
    async drain() {
      if (!state) return;
      await state.validator.drain();
      await state.runner.drain();
    },
    settings: () => state?.settings,
    knowsAccountKey: (id) => !!state?.nonces.accountKeys.has(id),
  };
}

export const acmeProtocol: AcmeModule = createAcmeProtocol();
