/**
 * ACME settings, read from the environment by this module (documented in protocols/acme/README.md).
 * A bad value stops the server at mount with a message naming the variable.
 */
import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.string()])
  .transform((v) => (typeof v === 'boolean' ? v : ['1', 'true', 'yes', 'on'].includes(v.toLowerCase())));
const port = z.coerce.number().int().min(1).max(65535);
const seconds = z.coerce.number().positive();
const count = z.coerce.number().int().min(0);

export const acmeSettingsSchema = z.object({
  /** Base URL of the ACME resources (`https://acme.example.com`); else the scheme and host the client used. */
  baseUrl: z.string().url().optional(),
  /** host:port of the DNS server for lookups and dns-01; else the system resolver (getaddrinfo for A/AAAA). */
  dnsResolver: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+)(:\d{1,5})?$/, 'expected host:port')
    .optional(),
  http01Port: port.default(80),
  tlsAlpn01Port: port.default(443),
  /** Allow validation to connect to private, loopback and link-local addresses (off: SSRF guard). */
  allowPrivateTargets: bool.default(false),
  eabRequired: bool.default(false),
  termsOfService: z.string().url().optional(),
  website: z.string().url().optional(),
  caaIdentities: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
  /** Time limit of one validation attempt (connect + answer), ms. */
  validationTimeoutMs: z.coerce.number().int().positive().default(10_000),
  /** Further attempts after a failed one, and the pause between attempts. */
  validationRetries: count.default(2),
  validationRetryDelayMs: count.default(2_000),
  /** Validations running at once in this process. */
  validationConcurrency: z.coerce.number().int().positive().default(64),
  nonceLifetime: seconds.default(3600),
  orderLifetime: seconds.default(7 * 86400),
  /**
   * A new order reuses the account's valid authorization of an identifier (as Boulder and Pebble
   * do) when it stays valid at least `authzReuseMinSeconds` longer; off: every order proves control anew.
   */
  authzReuse: bool.default(false),
  authzReuseMinSeconds: seconds.default(86400),
  /** Retry-After for a processing order / challenge, seconds. */
  retryAfter: z.coerce.number().int().min(0).default(1),
  /**
   * A poll (POST-as-GET) of an authorization or order whose validation or issuance runs in this
   * instance waits up to this long for it to finish before answering (0 = answer at once).
   */
  pollWaitMs: z.coerce.number().int().min(0).max(10_000).default(250),
  /** RFC 9773 renewalInfo Retry-After, seconds. */
  ariRetryAfter: z.coerce.number().int().positive().default(6 * 3600),
  /** ACME profile name → Certgate profile, `name=profile,name2=profile2`. */
  profiles: z
    .string()
    .default('tls-server=tls-server')
    .transform((s, ctx) => {
      const out: Record<string, string> = {};
      for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
        const m = /^([A-Za-z0-9._-]+)=([A-Za-z0-9._-]+)$/.exec(part);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not name=profile` });
          return z.NEVER;
        }
        out[m[1]] = m[2];
      }
      return out;
    }),
  defaultProfile: z.string().default('tls-server'),
  rateWindow: seconds.default(3600),
  /** New accounts per client IP per window (0 = unlimited). */
  rateAccountsPerIp: count.default(100),
  /** New orders per account per window (0 = unlimited). */
  rateOrdersPerAccount: count.default(3000),
  /** New orders per client IP per window (0 = unlimited). */
  rateOrdersPerIp: count.default(10000),
  maxIdentifiers: z.coerce.number().int().positive().default(100),
});

export type AcmeSettings = z.infer<typeof acmeSettingsSchema>;
export type AcmeSettingsInput = z.input<typeof acmeSettingsSchema>;

export const acmeEnvNames: Record<string, keyof AcmeSettingsInput> = {
  CERTGATE_ACME_BASE_URL: 'baseUrl',
  CERTGATE_ACME_DNS_RESOLVER: 'dnsResolver',
  CERTGATE_ACME_HTTP01_PORT: 'http01Port',
  CERTGATE_ACME_TLSALPN01_PORT: 'tlsAlpn01Port',
  CERTGATE_ACME_ALLOW_PRIVATE_TARGETS: 'allowPrivateTargets',
  CERTGATE_ACME_EAB_REQUIRED: 'eabRequired',
  CERTGATE_ACME_TOS_URL: 'termsOfService',
  CERTGATE_ACME_WEBSITE: 'website',
  CERTGATE_ACME_CAA_IDENTITIES: 'caaIdentities',
  CERTGATE_ACME_VALIDATION_TIMEOUT_MS: 'validationTimeoutMs',
  CERTGATE_ACME_VALIDATION_RETRIES: 'validationRetries',
  CERTGATE_ACME_VALIDATION_RETRY_DELAY_MS: 'validationRetryDelayMs',
  CERTGATE_ACME_VALIDATION_CONCURRENCY: 'validationConcurrency',
  CERTGATE_ACME_NONCE_LIFETIME: 'nonceLifetime',
  CERTGATE_ACME_ORDER_LIFETIME: 'orderLifetime',
  CERTGATE_ACME_AUTHZ_REUSE: 'authzReuse',
  CERTGATE_ACME_AUTHZ_REUSE_MIN_REMAINING: 'authzReuseMinSeconds',
  CERTGATE_ACME_RETRY_AFTER: 'retryAfter',
  CERTGATE_ACME_ARI_RETRY_AFTER: 'ariRetryAfter',
  CERTGATE_ACME_POLL_WAIT_MS: 'pollWaitMs',
  CERTGATE_ACME_PROFILES: 'profiles',
  CERTGATE_ACME_DEFAULT_PROFILE: 'defaultProfile',
  CERTGATE_ACME_RATE_WINDOW: 'rateWindow',
  CERTGATE_ACME_RATE_ACCOUNTS_PER_IP: 'rateAccountsPerIp',
  CERTGATE_ACME_RATE_ORDERS_PER_ACCOUNT: 'rateOrdersPerAccount',
  CERTGATE_ACME_RATE_ORDERS_PER_IP: 'rateOrdersPerIp',
  CERTGATE_ACME_MAX_IDENTIFIERS: 'maxIdentifiers',
};

/** Settings from `env` plus explicit overrides (tests). */
export function loadAcmeSettings(env: NodeJS.ProcessEnv = process.env, overrides: AcmeSettingsInput = {}): AcmeSettings {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(acmeEnvNames)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  Object.assign(raw, overrides);
  const parsed = acmeSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const byKey = Object.fromEntries(Object.entries(acmeEnvNames).map(([e, k]) => [k, e]));
    throw new Error(
      `invalid ACME configuration: ${parsed.error.issues.map((i) => `${byKey[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; ')}`,
    );
  }
  const s = parsed.data;
  if (!s.profiles[s.defaultProfile]) s.profiles[s.defaultProfile] = s.defaultProfile;
  if (s.baseUrl) s.baseUrl = s.baseUrl.replace(/\/+$/, '');
  return s;
}
