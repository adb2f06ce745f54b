/**
 * eSign settings from CERTGATE_EMCA_ESIGN_* (documented in protocols/emca/README.md). A bad value
 * stops the server with a message naming the variable.
 */
import { z } from 'zod';

export const esignSettingsSchema = z.object({
  /** Lifetime of a signing request and its one-time code, seconds. */
  codeTtl: z.coerce.number().int().min(30).max(3600).default(300),
  /** Wrong codes accepted before the request is locked. */
  codeAttempts: z.coerce.number().int().min(1).max(10).default(5),
  /** Where codes go: an HTTPS/HTTP endpoint the operator runs (SMS or mail gateway); unset = operators read them. */
  codeWebhook: z.string().url().optional(),
  /** Profile of signer certificates created by the eSign API. */
  profile: z.string().min(1).default('emca-esign'),
  /** Largest PDF (bytes) accepted for signing. */
  maxDocument: z.coerce.number().int().positive().max(64 * 1024 * 1024).default(10 * 1024 * 1024),
});
export type EsignSettings = z.output<typeof esignSettingsSchema>;
export type EsignSettingsInput = z.input<typeof esignSettingsSchema>;

const envNames: Record<keyof EsignSettings, string> = {
  codeTtl: 'CERTGATE_EMCA_ESIGN_CODE_TTL',
  codeAttempts: 'CERTGATE_EMCA_ESIGN_CODE_ATTEMPTS',
  codeWebhook: 'CERTGATE_EMCA_ESIGN_CODE_WEBHOOK',
  profile: 'CERTGATE_EMCA_ESIGN_PROFILE',
  maxDocument: 'CERTGATE_EMCA_ESIGN_MAX_DOCUMENT',
};

export function loadEsignSettings(env: NodeJS.ProcessEnv = process.env, overrides: EsignSettingsInput = {}): EsignSettings {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(envNames)) if (env[name] !== undefined && env[name] !== '') raw[key] = env[name];
  const r = esignSettingsSchema.safeParse({ ...raw, ...overrides });
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`${envNames[issue.path[0] as keyof EsignSettings] ?? String(issue.path[0])}: ${issue.message}`);
  }
  return r.data;
}
