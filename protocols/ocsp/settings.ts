import { z } from 'zod';

/**
 * OCSP settings. Server-wide defaults come from the environment (CERTGATE_OCSP_*); each issuer
 * may override the per-issuer ones through the admin API (table ocsp_issuer_settings).
 */

/** What an operator may set per issuer. */
export const issuerSettingsSchema = z
  .object({
    /** Who signs responses: a delegated responder certificate (id-kp-OCSPSigning) or the issuer's own key. */
    signing: z.enum(['delegated', 'issuer']),
    /** nextUpdate - thisUpdate of each response, seconds (1 minute to 30 days). */
    validitySeconds: z.number().int().min(60).max(30 * 86400),
    /** Re-sign a cached response once less than this fraction of its validity remains. */
    refreshFraction: z.number().min(0.05).max(0.95),
    /** Upper bound of Cache-Control max-age on GET responses, seconds (0 = no-cache). */
    maxAgeSeconds: z.number().int().min(0).max(30 * 86400),
    /** Requests with a nonce: sign live and echo it (`sign`), or answer from the cache without it (`ignore`, RFC 5019). */
    nonce: z.enum(['sign', 'ignore']),
    /** Lifetime of a new delegated responder certificate, days. */
    responderValidityDays: z.number().int().min(1).max(365),
    /** Rotate the responder certificate when less than this fraction of its life remains. */
    rotateFraction: z.number().min(0.05).max(0.9),
    /** Key of new responder certificates; `issuer` = same algorithm and size as the issuer's key. */
    responderKey: z.enum(['issuer', 'ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072']),
  })
  .strict();

export type IssuerSettings = z.infer<typeof issuerSettingsSchema>;
export const issuerSettingsPatch = issuerSettingsSchema.partial();
export type IssuerSettingsPatch = z.infer<typeof issuerSettingsPatch>;

export interface ServerSettings {
  defaults: IssuerSettings;
  /** Largest OCSP request accepted (bytes; POST body or decoded GET). */
  maxRequestBytes: number;
  /** Most CertIDs in one request. */
  maxRequests: number;
  /** Cached responses kept in memory (oldest evicted first). */
  cacheEntries: number;
  /** How long an `unknown` answer may be served from the cache, seconds. */
  unknownTtlSeconds: number;
  /** Interval of the cross-instance freshness poll (revocations table), milliseconds. */
  pollMs: number;
  /** Create delegated responder certificates at start for issuers that need one. */
  autoProvision: boolean;
}

const num = (v: string | undefined, d: number) => (v === undefined || v === '' ? d : Number(v));

/** Reads CERTGATE_OCSP_* from `env`; throws naming the variable on a bad value. */
export function serverSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerSettings> & { defaults?: Partial<IssuerSettings> } = {}): ServerSettings {
  const defaults = issuerSettingsSchema.safeParse({
    signing: env.CERTGATE_OCSP_SIGNING || 'delegated',
    validitySeconds: num(env.CERTGATE_OCSP_VALIDITY, 86400),
    refreshFraction: num(env.CERTGATE_OCSP_REFRESH_FRACTION, 0.5),
    maxAgeSeconds: num(env.CERTGATE_OCSP_MAX_AGE, 3600),
    nonce: env.CERTGATE_OCSP_NONCE || 'sign',
    responderValidityDays: num(env.CERTGATE_OCSP_RESPONDER_DAYS, 30),
    rotateFraction: num(env.CERTGATE_OCSP_ROTATE_FRACTION, 1 / 3),
    responderKey: env.CERTGATE_OCSP_RESPONDER_KEY || 'issuer',
    ...overrides.defaults,
  });
  if (!defaults.success) {
    throw new Error(`invalid OCSP setting: ${defaults.error.issues.map((i) => `${envName(String(i.path[0]))}: ${i.message}`).join('; ')}`);
  }
  const s: ServerSettings = {
    defaults: defaults.data,
    maxRequestBytes: num(env.CERTGATE_OCSP_MAX_REQUEST_BYTES, 8192),
    maxRequests: num(env.CERTGATE_OCSP_MAX_REQUESTS, 16),
    cacheEntries: num(env.CERTGATE_OCSP_CACHE_ENTRIES, 100_000),
    unknownTtlSeconds: num(env.CERTGATE_OCSP_UNKNOWN_TTL, 60),
    pollMs: num(env.CERTGATE_OCSP_POLL_MS, 1000),
    autoProvision: !['0', 'false', 'no', 'off'].includes((env.CERTGATE_OCSP_AUTO_PROVISION ?? 'true').toLowerCase()),
    ...stripDefaults(overrides),
  };
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number' && (!Number.isFinite(v) || v < 0)) throw new Error(`invalid OCSP setting ${k}: ${v}`);
  }
  return s;
}

function stripDefaults(o: Partial<ServerSettings> & { defaults?: unknown }): Partial<ServerSettings> {
  const { defaults: _d, ...rest } = o;
  return rest;
}

function envName(key: string): string {
  const m: Record<string, string> = {
    signing: 'CERTGATE_OCSP_SIGNING',
    validitySeconds: 'CERTGATE_OCSP_VALIDITY',
    refreshFraction: 'CERTGATE_OCSP_REFRESH_FRACTION',
    maxAgeSeconds: 'CERTGATE_OCSP_MAX_AGE',
    nonce: 'CERTGATE_OCSP_NONCE',
    responderValidityDays: 'CERTGATE_OCSP_RESPONDER_DAYS',
    rotateFraction: 'CERTGATE_OCSP_ROTATE_FRACTION',
    responderKey: 'CERTGATE_OCSP_RESPONDER_KEY',
  };
  return m[key] ?? key;
}
