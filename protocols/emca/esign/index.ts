import type { Hono } from 'hono';
import type { ProtocolAppEnv as AppEnv, ProtocolContext } from '../../../src/protocol-context.ts';
import type { EmcaService } from '../service.ts';
import { esignProfile } from './profile.ts';
import { mountEsign } from './routes.ts';
import { EsignService } from './service.ts';
import { loadEsignSettings, type EsignSettingsInput } from './settings.ts';
import { SignerStore } from './signers.ts';

/** eSign: settings, the built-in profile (when missing), signers, requests, routes. */
export async function mountEsignModule(app: Hono<AppEnv>, ctx: ProtocolContext, svc: EmcaService, overrides: EsignSettingsInput = {}): Promise<void> {
  const s = loadEsignSettings(process.env, overrides);
  await ctx.profiles.ensure(esignProfile(s.profile));
  const signers = new SignerStore(ctx, svc, s.profile);
  mountEsign(app, ctx, signers, new EsignService(ctx, signers, s));
}
