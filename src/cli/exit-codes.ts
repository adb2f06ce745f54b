/**
 * The CLI's exit codes, one table for the core commands and the protocols' own (README, "Exit
 * codes"): scripts tell a mistake of theirs from a missing object from a server in trouble.
 */
export const EXIT_OK = 0;
/** The server failed (5xx), was unreachable, or something unexpected happened. */
export const EXIT_ERROR = 1;
/** The caller's mistake: a bad option or value, a missing file, a request the API refused (4xx). */
export const EXIT_USAGE = 2;
/** A certificate request waits for manual approval. */
export const EXIT_PENDING = 3;
/** What the command names does not exist (the API answered 404). */
export const EXIT_NOT_FOUND = 4;

/** The exit code of an admin-API answer that refused the call. */
export function exitCodeForStatus(status: number): number {
  if (status === 404) return EXIT_NOT_FOUND;
  return status >= 500 ? EXIT_ERROR : EXIT_USAGE;
}
