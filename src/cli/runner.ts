import { NoDataError } from '../data-dir.ts';
import { DataDirLockedError } from '../data-dir-lock.ts';
import { EXIT_ERROR, EXIT_USAGE, exitCodeForStatus } from './exit-codes.ts';

/**
 * What a command needs to reach the data: admin-API calls, and a close. The CLI's client
 * (admin-client.ts) implements it; protocols' own `certgate` subcommands depend on this interface
 * only (ProtocolModule.registerCommands), never on that class.
 */
export interface AdminApiClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/** A refusal a command reports with its own exit code (exit-codes.ts: 2 the caller's mistake, 4 not found, 1 the server's). */
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
 * the exit code of exit-codes.ts (2 client error, 4 not found, 1 server error), close the client.
 */
export function adminRunner(open: () => Promise<AdminApiClient>): (fn: (call: AdminCall) => Promise<void>) => Promise<void> {
  return async (fn) => {
    let client: AdminApiClient | undefined;
    try {
      client = await open();
      const c = client;
      await fn(async <T>(method: string, path: string, body?: unknown) => {
        const r = await c.call<T>(method, path, body);
        if (r.status >= 400) {
          const b = r.body as { message?: string; error?: string } | string;
          throw new CliFailure(typeof b === 'string' ? b : (b?.message ?? b?.error ?? `HTTP ${r.status}`), exitCodeForStatus(r.status));
        }
        return r.body;
      });
    } catch (e) {
      process.exitCode = e instanceof CliFailure ? e.exitCode : e instanceof NoDataError || e instanceof DataDirLockedError ? EXIT_USAGE : EXIT_ERROR;
      console.error(`certgate: ${(e as Error).message}`);
    } finally {
      await client?.close().catch(() => {});
    }
  };
}
