import type { AdminClient } from './admin-client.ts';

/** A refusal a command reports with its own exit code (2: the caller's mistake, 1: the server's). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export type AdminCall = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/**
 * What every protocol's `certgate` subcommands share: open the admin client, hand the command a
 * `call` that turns 4xx/5xx answers into CliFailure, print any failure as `certgate: <message>` with
 * exit code 2 (client error) or 1, close the client.
 */
export function adminRunner(open: () => Promise<Pick<AdminClient, 'call' | 'close'>>): (fn: (call: AdminCall) => Promise<void>) => Promise<void> {
  return async (fn) => {
    let client: Pick<AdminClient, 'call' | 'close'> | undefined;
    try {
      client = await open();
      const c = client;
      await fn(async <T>(method: string, path: string, body?: unknown) => {
        const r = await c.call<T>(method, path, body);
        if (r.status >= 400) {
          const b = r.body as { message?: string; error?: string } | string;
          throw new CliFailure(typeof b === 'string' ? b : (b?.message ?? b?.error ?? `HTTP ${r.status}`), r.status >= 500 ? 1 : 2);
        }
        return r.body;
      });
    } catch (e) {
      process.exitCode = e instanceof CliFailure ? e.exitCode : 1;
      console.error(`certgate: ${(e as Error).message}`);
    } finally {
      await client?.close().catch(() => {});
    }
  };
}
