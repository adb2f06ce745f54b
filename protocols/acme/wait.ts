/**
 * Waits for `p` at most `ms` milliseconds: its value, or undefined when it takes longer (or
 * `ms` is 0). Requests that start background work (validation, issuance) answer with its outcome
 * when it is quick, and with `processing` + Retry-After when it is not.
 */
export async function waitAtMost<T>(p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!p || ms <= 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(r, ms, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}
