/**
 * SCEP settings, read from the environment (CERTGATE_SCEP_*, documented in protocols/scep/README.md).
 * A bad value stops the server at mount with a message naming the variable.
 *
 * A label is the path segment after /scep/ (`/scep/<label>`); `/scep` itself is the label `default`.
 * Each label names the profile it issues from and how its requesters are authorized.
 */
import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.string()])
  .transform((v) => (typeof v === 'boolean' ? v : ['1', 'true', 'yes', 'on'].includes(v.toLowerCase())));
const labelName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a label is 1-64 of A-Z a-z 0-9 . _ -');

export const labelSchema = z.object({
  /** Certgate profile the label issues from (its manualApproval makes PKCSReq answer PENDING). */
  profile: z.string().min(1).default('device'),
  /** Static challenge password; absent: only one-time challenges (or the webhook) authorize. */
  challenge: z.string().min(1).max(255).optional(),
  /** Validation webhook: the CSR and transaction are POSTed here; only a 2xx answer allows issuance. */
  webhookUrl: z.string().url().optional(),
});
export type LabelSettings = z.infer<typeof labelSchema>;

export const scepSettingsSchema = z.object({
  /** The default label's profile, static challenge and webhook (the label `default`, at /scep). */
  profile: z.string().min(1).default('device'),
  challenge: z.string().min(1).max(255).optional(),
  webhookUrl: z.string().url().optional(),
  /** Further labels as JSON: {"mdm": {"profile": "device", "challenge": "…", "webhookUrl": "…"}}. */
  labels: z
    .union([z.string(), z.record(z.string(), z.unknown())])
    .default({})
    .transform((v, ctx) => {
      let raw: unknown = v;
      if (typeof v === 'string') {
        try {
          raw = JSON.parse(v);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'not JSON' });
          return z.NEVER;
        }
      }
      const parsed = z.record(labelName, labelSchema).safeParse(raw);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
        return z.NEVER;
      }
      return parsed.data;
    }),
  /** Issue an RA certificate (system profile `scep-ra`) and answer GetCACert with CA + RA. */
  ra: bool.default(true),
  raSubject: z.string().min(1).default('CN=Certgate SCEP RA'),
  /** Lifetime of a one-time challenge made without --ttl, seconds. */
  challengeTtl: z.coerce.number().int().positive().max(30 * 86400).default(3600),
  webhookTimeoutMs: z.coerce.number().int().positive().max(60_000).default(5_000),
  /** Largest PKIOperation message accepted, bytes (POST body or decoded GET message). */
  maxMessageBytes: z.coerce.number().int().min(4096).max(4 * 1024 * 1024).default(256 * 1024),
});

export type ScepSettingsInput = z.input<typeof scepSettingsSchema>;
export interface ScepSettings extends Omit<z.infer<typeof scepSettingsSchema>, 'labels'> {
  /** Every label including `default`. */
  labels: Record<string, LabelSettings>;
}

export const scepEnvNames: Record<string, keyof ScepSettingsInput> = {
  CERTGATE_SCEP_PROFILE: 'profile',
  CERTGATE_SCEP_CHALLENGE: 'challenge',
  CERTGATE_SCEP_WEBHOOK_URL: 'webhookUrl',
  CERTGATE_SCEP_LABELS: 'labels',
  CERTGATE_SCEP_RA: 'ra',
  CERTGATE_SCEP_RA_SUBJECT: 'raSubject',
  CERTGATE_SCEP_CHALLENGE_TTL: 'challengeTtl',
  CERTGATE_SCEP_WEBHOOK_TIMEOUT_MS: 'webhookTimeoutMs',
  CERTGATE_SCEP_MAX_MESSAGE_BYTES: 'maxMessageBytes',
};

export const DEFAULT_LABEL = 'default';

/** Settings from `env` plus explicit overrides (tests). */
export function loadScepSettings(env: NodeJS.ProcessEnv = process.env, overrides: ScepSettingsInput = {}): ScepSettings {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(scepEnvNames)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  Object.assign(raw, overrides);
  const parsed = scepSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(scepEnvNames).map(([e, k]) => [k, e]));
    throw new Error(`invalid SCEP configuration: ${parsed.error.issues.map((i) => `${byKey[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; ')}`);
  }
  const { labels, ...rest } = parsed.data;
  const all: Record<string, LabelSettings> = { ...labels };
  all[DEFAULT_LABEL] ??= { profile: rest.profile, challenge: rest.challenge, webhookUrl: rest.webhookUrl };
  return { ...rest, labels: all };
}
