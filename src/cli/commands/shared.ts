/**
 * What every operator command shares: the admin-API runner, exit codes, output helpers. Results
 * go to stdout (tables, or JSON with --json); diagnostics go to stderr as `certgate: <message>`.
 * Exit codes (../exit-codes.ts): 0 ok, 1 server/unexpected error, 2 usage error or refused input
 * (4xx, missing file, no data found), 3 certificate request pending manual approval, 4 not found.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../config.ts';
import { NoDataError } from '../../data-dir.ts';
import { DataDirLockedError } from '../../data-dir-lock.ts';
import { EXIT_ERROR, EXIT_NOT_FOUND, EXIT_PENDING, EXIT_USAGE, exitCodeForStatus } from '../exit-codes.ts';
import type { AdminApiClient } from '../runner.ts';

export { EXIT_ERROR, EXIT_NOT_FOUND, EXIT_PENDING };
export const EXIT_CLIENT = EXIT_USAGE;

export const roleNames = ['administrator', 'officer', 'auditor'];
export const keyTypes = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'];
export const statuses = ['valid', 'revoked', 'hold', 'expired'];
export const requestStatuses = ['pending', 'approving', 'issued', 'rejected'];

/** An error the CLI reports with a chosen exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** A refused admin-API call: its status decides the exit code. */
export class AdminCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const b = body as { message?: string; error?: string } | undefined;
    super(b?.message ?? b?.error ?? `HTTP ${status}`);
  }
}

export interface Api {
  get<T = any>(path: string, query?: Record<string, unknown>): Promise<T>;
  post<T = any>(path: string, body?: unknown): Promise<T>;
  put<T = any>(path: string, body: unknown): Promise<T>;
  patch<T = any>(path: string, body: unknown): Promise<T>;
  del(path: string): Promise<void>;
  /** Raw call: the status too, without throwing on 4xx/5xx. */
  raw<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** Runs one command against the admin API: opens the client, runs `fn`, closes it; errors become a message and an exit code. */
export type Run = (fn: (api: Api) => Promise<void>) => Promise<void>;

export function makeRun(open: () => Promise<AdminApiClient>): Run {
  return async (fn) => {
    let client: AdminApiClient | undefined;
    try {
      client = await open();
      const c = client;
      const call = async (method: string, path: string, body?: unknown) => {
        const r = await c.call(method, path, body);
        if (r.status >= 400) throw new AdminCallError(r.status, r.body);
        return r.body as any;
      };
      const api: Api = {
        get: (path, query) => call('GET', path + queryString(query)),
        post: (path, body) => call('POST', path, body),
        put: (path, body) => call('PUT', path, body),
        patch: (path, body) => call('PATCH', path, body),
        del: async (path) => void (await call('DELETE', path)),
        raw: (method, path, body) => c.call(method, path, body) as never,
      };
      try {
        await fn(api);
      } catch (e) {
        throw await withChoices(api, e);
      }
    } catch (e) {
      fail(e);
    } finally {
      await client?.close().catch(() => {});
    }
  };
}

/**
 * An unknown profile or issuer: the message lists the ones there are, so the caller need not look
 * them up (the list is fetched only on this failure path).
 */
async function withChoices(api: Api, e: unknown): Promise<unknown> {
  if (!(e instanceof AdminCallError) || e.status !== 404) return e;
  const kind = /^unknown (profile|issuer)\b/.exec(e.message)?.[1];
  if (!kind) return e;
  try {
    const list = await api.get<{ name?: string; id?: string }[]>(kind === 'profile' ? '/profiles' : '/issuers');
    const names = list.map((x) => (kind === 'profile' ? x.name : x.id)).filter(Boolean);
    return new CliError(`${e.message}; ${kind === 'profile' ? 'profiles' : 'issuers'}: ${names.join(', ') || '(none)'}`, EXIT_NOT_FOUND);
  } catch {
    return e;
  }
}

/**
 * A top-level command whose subcommands exit 2 on usage errors (a missing option, a bad
 * choice): the caller's mistake, like a refused API call. Help still exits 0.
 */
export function group(program: Command, name: string): Command {
  return program.command(name).exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CLIENT));
}

/** Prints `certgate: <message>` on stderr and sets the exit code (2 for refused/invalid input). */
export function fail(e: unknown): void {
  let code = EXIT_ERROR;
  let message: string;
  const errno = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof AdminCallError) {
    code = exitCodeForStatus(e.status);
    message = e.message;
  } else if (e instanceof CliError) {
    code = e.exitCode;
    message = e.message;
  } else if (errno === 'ENOENT' || errno === 'EACCES' || errno === 'EISDIR') {
    // A file the caller named: say which, without Node's errno prose.
    const path = (e as NodeJS.ErrnoException).path ?? '';
    code = EXIT_CLIENT;
    message = errno === 'ENOENT' ? `no such file: ${path}` : errno === 'EISDIR' ? `a directory, not a file: ${path}` : `permission denied: ${path}`;
  } else if (e instanceof ConfigError || e instanceof NoDataError || e instanceof DataDirLockedError) {
    code = EXIT_CLIENT;
    message = (e as Error).message;
  } else {
    message = (e as Error)?.message ?? String(e);
  }
  process.stderr.write(`certgate: ${message}\n`);
  process.exitCode = code;
}

export function int(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
  return Number(v);
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}

function queryString(q?: Record<string, unknown>): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function readText(file: string): string {
  return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
}

export function readJsonFile(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file}: not valid JSON (${(e as Error).message})`, EXIT_CLIENT);
  }
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

export function day(v: string | undefined): string {
  return v ? v.slice(0, 10) : '';
}

export function time(v: string | undefined | null): string {
  return v ? v.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

/** Aligned columns on stdout; "(none)" for an empty list. */
export function table<T>(rows: T[], cols: [string, (r: T) => unknown][]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((r) => cols.map(([, f]) => String(f(r) ?? '')));
  const widths = cols.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]))).join('  ').trimEnd();
  process.stdout.write([line(cols.map(([h]) => h)), ...cells.map(line)].join('\n') + '\n');
}
