/** Spawning the `certgate` binary (compiled dist/, as test/support/global-setup.ts builds it) as an operator runs it. */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../..');
export const bin = join(root, 'bin/certgate.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runCertgate(args: string[], env: NodeJS.ProcessEnv, input?: string | Buffer, cwd = root): Promise<CliRun> {
  const started = performance.now();
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr, ms: performance.now() - started }));
    child.stdin.end(input ?? '');
  });
}

/** stderr without JSON log lines: the CLI's own diagnostics. */
export function diagnostics(r: CliRun): string {
  return r.stderr
    .split('\n')
    .filter((l) => !l.startsWith('{"level":'))
    .join('\n');
}

/** The environment for a CLI on `dataDir` (and a PostgreSQL database when given), logs at warn. */
export function cliEnv(dataDir: string, databaseUrl?: string): NodeJS.ProcessEnv {
  const { DATABASE_URL: _pg, ...rest } = process.env;
  return {
    ...rest,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    CERTGATE_DATA_DIR: dataDir,
    CERTGATE_LOG_LEVEL: 'warn',
    CERTGATE_HOST: '127.0.0.1',
    CERTGATE_HTTP_PORT: '0',
    CERTGATE_HTTPS_PORT: '0',
  };
}
