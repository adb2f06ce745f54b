import { readFileSync } from 'node:fs';
import type { Config } from '../config.ts';
import type { Context } from '../context.ts';
import { NoDataError } from '../data-dir.ts';
import { acquireDataDirLock, DataDirLockedError, lockHolder, type DataDirLock, type LockHolder } from '../data-dir-lock.ts';
import type { ProtocolModule } from '../protocol.ts';
import { serverInfoFile, type ServerInfo } from '../server-info.ts';
import type { AdminApiClient } from './runner.ts';

/**
 * How the CLI reaches the data: every command is an admin-API call.
 * - A server holds the data directory's lock: calls go over HTTP with the token it keeps in
 *   `<dataDir>/server.json` (0600). The CLI never opens the database files then.
 * - Nobody holds it: the CLI takes the lock itself, opens the existing database (creating
 *   nothing: no data is a NoDataError saying where it looked) and serves the same API in-process,
 *   as a local administrator, until it closes.
 */
export interface AdminClient extends AdminApiClient {
  mode: 'remote' | 'local';
  /** The raw answer, body unread: for what is not JSON (a backup archive, streamed). */
  request(method: string, path: string, body?: unknown): Promise<Response>;
}

/** How long the CLI waits for a starting server's handle, or for another CLI command to finish. */
const WAIT_MS = 30_000;

export async function openAdminClient(config: Config, protocols: ProtocolModule[] = [], command = 'cli'): Promise<AdminClient> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const holder = lockHolder(config.dataDir);
    if (holder) {
      const remote = holder.role === 'serve' ? serverHandle(config.dataDir, holder) : undefined;
      if (remote) return remoteClient(remote);
      if (Date.now() > deadline) throw waitedTooLong(config.dataDir, holder);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    let lock: DataDirLock;
    try {
      // A directory that does not exist holds no data: say so rather than create it.
      lock = acquireDataDirLock(config.dataDir, 'cli', command);
    } catch (e) {
      if (e instanceof DataDirLockedError) continue; // a server started meanwhile: go through it
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NoDataError(`no Certgate data directory at ${config.dataDir}`, config.dataDir);
      throw e;
    }
    try {
      return await localClient(config, protocols, lock);
    } catch (e) {
      lock.release();
      throw e;
    }
  }
}

function remoteClient(remote: ServerInfo): AdminClient {
  const request = (method: string, path: string, body?: unknown) =>
    fetch(`${remote.url}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${remote.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  return {
    mode: 'remote',
    request,
    async call(method, path, body) {
      const res = await request(method, path, body);
      return { status: res.status, body: await parseBody(res) };
    },
    close: async () => {},
  };
}

async function localClient(config: Config, protocols: ProtocolModule[], lock: DataDirLock): Promise<AdminClient> {
  // Diagnostics to stderr: stdout carries only what a command prints (a token, a PEM).
  // Loaded only here: a call through a running server needs none of the server's modules (CLI start-up time).
  const { default: pino } = await import('pino');
  const { createContext } = await import('../context.ts');
  const { buildApp } = await import('../server.ts');
  const ctx: Context = await createContext(config, { logger: pino({ level: 'warn' }, pino.destination(2)), create: false });
  try {
    const app = await buildApp(ctx, protocols);
    const op = await ctx.tokens.ensureOperator('local-cli', 'administrator', 'local');
    const token = await ctx.tokens.issue(op, 300);
    const request = async (method: string, path: string, body?: unknown) =>
      app.request(`/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    return {
      mode: 'local',
      request,
      async call(method, path, body) {
        const res = await request(method, path, body);
        return { status: res.status, body: await parseBody(res) };
      },
      async close() {
        try {
          await ctx.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (e) {
    await ctx.close().catch(() => {});
    throw e;
  }
}

/** The running server's admin handle, when the lock holder wrote it (it does once listening). */
function serverHandle(dataDir: string, holder: LockHolder): ServerInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(serverInfoFile(dataDir), 'utf8')) as ServerInfo;
    return info.pid === holder.pid ? info : undefined;
  } catch {
    return undefined;
  }
}

function waitedTooLong(dataDir: string, holder: LockHolder): Error {
  return holder.role === 'serve'
    ? new Error(`a Certgate server (PID ${holder.pid}) holds ${dataDir} but has not written its admin handle ${serverInfoFile(dataDir)}; retry once it has started`)
    : new DataDirLockedError(dataDir, holder);
}

async function parseBody(res: Response): Promise<never> {
  const text = await res.text();
  try {
    return JSON.parse(text) as never;
  } catch {
    return text as never;
  }
}
