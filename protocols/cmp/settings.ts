import { z } from 'zod';

/**
 * CMP settings (environment, documented in protocols/cmp/README.md).
 *
 * CERTGATE_CMP_ALIASES: `alias=profile[:flag…]`, comma-separated; flags `noimplicit` (implicitConfirm
 * refused: every certificate waits for certConf), `manual` (documentation only: the profile decides
 * approval) and `ra=P1+P2` (certificates of these profiles are authorised RAs on this alias, beside
 * the CMP signer's). An alias not listed is the profile of the same name. Default `device=device`.
 */
export interface AliasSettings {
  profile: string;
  implicitConfirm: boolean;
  /**
   * Profiles whose certificates act as an RA here (RFC 9483 §5): nested messages, raVerified POP,
   * names not limited to the signer's own. The `cmp-signer` system profile always does.
   */
  raProfiles?: string[];
}

export interface CmpSettings {
  aliases: Record<string, AliasSettings>;
  defaultAlias: string;
  /** Seconds an issued certificate waits for certConf before it is revoked (cessationOfOperation). */
  confirmWaitSeconds: number;
  /** Largest request body, bytes. */
  maxBodyBytes: number;
  /** PasswordBasedMac / PBMAC1 iteration counts accepted. */
  minIterations: number;
  maxIterations: number;
  /** checkAfter of a pollRep, seconds. */
  pollSeconds: number;
  /** Interval of the unconfirmed-certificate sweep, milliseconds. */
  sweepMs: number;
  /** How long a shared-secret lookup is reused, milliseconds (changes via another instance wait this long). */
  secretCacheMs: number;
}

const int = (min: number, max: number, d: number) => z.coerce.number().int().min(min).max(max).default(d);

const env = z.object({
  CERTGATE_CMP_ALIASES: z.string().default('device=device'),
  CERTGATE_CMP_DEFAULT_ALIAS: z.string().default('device'),
  CERTGATE_CMP_CONFIRM_WAIT: int(1, 86400, 300),
  CERTGATE_CMP_BODY_LIMIT: int(1024, 16 * 1024 * 1024, 256 * 1024),
  CERTGATE_CMP_MIN_ITERATIONS: int(1, 1_000_000, 500),
  CERTGATE_CMP_MAX_ITERATIONS: int(1, 1_000_000, 10_000),
  CERTGATE_CMP_POLL_SECONDS: int(1, 3600, 5),
  CERTGATE_CMP_SWEEP_MS: int(100, 3_600_000, 30_000),
  CERTGATE_CMP_SECRET_CACHE_MS: int(0, 600_000, 5_000),
});

export function parseAliases(spec: string): Record<string, AliasSettings> {
  const out: Record<string, AliasSettings> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]+)=([A-Za-z0-9_.-]+)((?::[a-z]+(?:=[A-Za-z0-9_.+-]+)?)*)$/.exec(part);
    if (!m) throw new Error(`CERTGATE_CMP_ALIASES: cannot read "${part}" (want alias=profile[:noimplicit][:ra=P1+P2])`);
    const flags = m[3].split(':').filter(Boolean);
    const ra = flags.find((f) => f.startsWith('ra='));
    out[m[1]] = { profile: m[2], implicitConfirm: !flags.includes('noimplicit'), raProfiles: ra ? ra.slice(3).split('+').filter(Boolean) : [] };
  }
  return out;
}

export function cmpSettings(source: NodeJS.ProcessEnv = process.env): CmpSettings {
  const e = env.parse(source);
  return {
    aliases: parseAliases(e.CERTGATE_CMP_ALIASES),
    defaultAlias: e.CERTGATE_CMP_DEFAULT_ALIAS,
    confirmWaitSeconds: e.CERTGATE_CMP_CONFIRM_WAIT,
    maxBodyBytes: e.CERTGATE_CMP_BODY_LIMIT,
    minIterations: e.CERTGATE_CMP_MIN_ITERATIONS,
    maxIterations: e.CERTGATE_CMP_MAX_ITERATIONS,
    pollSeconds: e.CERTGATE_CMP_POLL_SECONDS,
    sweepMs: e.CERTGATE_CMP_SWEEP_MS,
    secretCacheMs: e.CERTGATE_CMP_SECRET_CACHE_MS,
  };
}

/** The alias's settings; an unlisted alias names the profile of the same name. */
export function aliasSettings(s: CmpSettings, alias: string): AliasSettings {
  return s.aliases[alias] ?? { profile: alias, implicitConfirm: true };
}
