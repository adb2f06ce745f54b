/** EST settings from the environment (documented in protocols/est/README.md). */
export function estSettings(env: NodeJS.ProcessEnv = process.env) {
  const int = (v: string | undefined, dflt: number) => {
    const n = Number(v ?? '');
    return Number.isInteger(n) && n > 0 ? n : dflt;
  };
  return {
    /** Largest accepted request body (base64 text), bytes. */
    bodyLimit: int(env.CERTGATE_EST_BODY_LIMIT, 64 * 1024),
    /** Retry-After seconds on 202 (held for approval). */
    retryAfter: int(env.CERTGATE_EST_RETRY_AFTER, 60),
    /** PEM file of CA certificates whose client certificates EST accepts besides Certgate's own. */
    trustStore: env.CERTGATE_EST_TRUST || undefined,
  };
}
