/**
 * emCA settings, read from the environment when the module mounts (documented in
 * protocols/emca/README.md). A bad value stops the server with a message naming the variable.
 */
import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: 'expected true/false, yes/no, on/off or 1/0' });
    return z.NEVER;
  });

export const emcaSettingsSchema = z.object({
  /** Largest V4 request body, bytes. */
  bodyLimit: z.coerce.number().int().positive().max(64 * 1024 * 1024).default(256 * 1024),
  /** V4 calls must carry the client's emKey (emCA's default). */
  emKeyRequired: bool.default(true),
  /** Longest lifetime a V5 bearer token may ask for, minutes. */
  v5TokenMaxMinutes: z.coerce.number().int().positive().max(7 * 24 * 60).default(24 * 60),
});
export type EmcaSettings = z.output<typeof emcaSettingsSchema>;
export type EmcaSettingsInput = z.input<typeof emcaSettingsSchema>;

const envNames: Record<keyof EmcaSettings, string> = {
  bodyLimit: 'CERTGATE_EMCA_BODY_LIMIT',
  emKeyRequired: 'CERTGATE_EMCA_EMKEY_REQUIRED',
  v5TokenMaxMinutes: 'CERTGATE_EMCA_V5_TOKEN_MAX_MINUTES',
};

/** Settings from CERTGATE_EMCA_* (empty variables count as unset); `overrides` take precedence. */
export function loadEmcaSettings(env: NodeJS.ProcessEnv = process.env, overrides: EmcaSettingsInput = {}): EmcaSettings {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(envNames)) if (env[name] !== undefined && env[name] !== '') raw[key] = env[name];
  const r = emcaSettingsSchema.safeParse({ ...raw, ...overrides });
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.path[0] as keyof EmcaSettings;
    throw new Error(`${envNames[key] ?? String(key)}: ${issue.message}`);
  }
  return r.data;
}
