import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config.ts';
import { createContext, type Context } from '../context.ts';
import type { ProtocolModule } from '../protocol.ts';
import { buildApp, serverInfoFile } from '../server.ts';

/**
 * How the CLI reaches the data: every command is an admin-API call. With a server running on
 * this data directory (PGlite lets one process open it), calls go over HTTP with the token the
 * server keeps in `<dataDir>/server.json` (0600). Otherwise the CLI opens the database itself
 * and serves the same API in-process, as a local administrator.
 */
export interface AdminClient {
  mode: 'remote' | 'local';
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export class AdminCallError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const b = body as { message?: string; error?: string } | undefined;
    super(b?.message ?? b?.error ?? `HTTP ${status}`);
  }
}

export async function openAdminClient(config: Config, protocols: ProtocolModule[] = []): Promise<AdminClient> {
  const remote = runningServer(config);
  if (remote) {
    return {
      mode: 'remote',
      async call(method, path, body) {
        const res = await fetch(`${remote.url}/api/v1${path}`, {
          method,
          headers: { Authorization: `Bearer ${remote.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        return { status: res.status, body: await parseBody(res) };
      },
      close: async () => {},
    };
  }
    // Diagnostics to stderr: stdout carries only what a command prints (a token, a PEM).
  const { default: pino } = await import('pino');
  const ctx: Context = await createContext(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  const app = await buildApp(ctx, protocols);
  const op = await ctx.tokens.ensureOperator('local-cli', 'administrator', 'local');
  const token = await ctx.tokens.issue(op, 300);
  return {
    mode: 'local',
    async call(method, path, body) {
      const res = await app.request(`/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: await parseBody(res) };
    },
    close: () => ctx.close(),
  };
}

/** The running server on this data directory, if its pid is alive and it wrote its handle. */
function runningServer(config: Config): { url: string; token: string } | undefined {
  const file = serverInfoFile(config.dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; url: string; token: string };
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

async function parseBody(res: Response): Promise<never> {
  const text = await res.text();
  try {
    return JSON.parse(text) as never;
  } catch {
    return text as never;
  }
}
