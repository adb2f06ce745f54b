/**
 * ePassport settings, from the environment (CERTGATE_EPASSPORT_*, documented in README.md here).
 */
import { z } from 'zod';

export const epassportSettingsSchema = z.object({
  /**
   * Foreign SPOCs that RequestForeignCertificate forwards to, by country code:
   * `FR=https://spoc.example.fr/epassport/v5,NL=https://spoc.example.nl/soap` (JSON base, or a SOAP
   * endpoint when the URL ends in /soap).
   */
  foreignSpocs: z
    .union([z.string(), z.record(z.string(), z.string())])
    .default({})
    .transform((v, ctx) => {
      if (typeof v !== 'string') return v;
      const out: Record<string, string> = {};
      for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
        const m = /^([A-Z]{2})=(https?:\/\/\S+)$/.exec(part);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not CC=https://…` });
          return z.NEVER;
        }
        out[m[1]] = m[2].replace(/\/+$/, '');
      }
      return out;
    }),
  /** How long a callback POST (SendCertificates to responseURL) or a forward may take, ms. */
  callbackTimeoutMs: z.coerce.number().int().positive().max(60_000).default(10_000),
  /** Largest message body accepted, bytes (a CV request is well under 2 KiB; DS lists are larger). */
  maxMessageBytes: z.coerce.number().int().min(4096).max(4 * 1024 * 1024).default(256 * 1024),
});

export type EpassportSettings = z.infer<typeof epassportSettingsSchema>;
export type EpassportSettingsInput = z.input<typeof epassportSettingsSchema>;

export function loadEpassportSettings(env: NodeJS.ProcessEnv, overrides: EpassportSettingsInput = {}): EpassportSettings {
  const fromEnv: Record<string, unknown> = {};
  if (env.CERTGATE_EPASSPORT_FOREIGN_SPOCS) fromEnv.foreignSpocs = env.CERTGATE_EPASSPORT_FOREIGN_SPOCS;
  if (env.CERTGATE_EPASSPORT_CALLBACK_TIMEOUT_MS) fromEnv.callbackTimeoutMs = env.CERTGATE_EPASSPORT_CALLBACK_TIMEOUT_MS;
  if (env.CERTGATE_EPASSPORT_MAX_MESSAGE_BYTES) fromEnv.maxMessageBytes = env.CERTGATE_EPASSPORT_MAX_MESSAGE_BYTES;
  const r = epassportSettingsSchema.safeParse({ ...fromEnv, ...overrides });
  if (!r.success) throw new Error(`ePassport settings: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
