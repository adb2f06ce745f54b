import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCertgate, stopCertgate } from './server.ts';

/**
 * The operator's CLI, as a shell runs it: wall time of `certgate --version` and of
 * `certgate cert list` against a running server (the compiled dist/, as `npm install` builds
 * it), median of several runs, beside the targets of 0.3 s and 1 s.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function run({ quick }: { quick: boolean }): Promise<void> {
  const n = quick ? 5 : 15;
  const dataDir = mkdtempSync(join(tmpdir(), 'certgate-bench-cli-'));
  const server = await startCertgate(dataDir, undefined);
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, CERTGATE_DATA_DIR: dataDir, CERTGATE_LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    const time = (args: string[]) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const r = spawnSync(process.execPath, [join(ROOT, 'bin/certgate.mjs'), ...args], { env, encoding: 'utf8' });
        ms.push(performance.now() - t);
        if (r.status !== 0) throw new Error(`certgate ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
      }
      ms.sort((a, b) => a - b);
      return ms[Math.floor(ms.length / 2)] / 1000;
    };
    const version = time(['--version']);
    const list = time(['cert', 'list']);
    console.log(`cli: certgate --version ${version.toFixed(3)} s (target < 0.3 s, ${(version / 0.3).toFixed(2)}x); cert list via the running server ${list.toFixed(3)} s (target < 1 s, ${list.toFixed(2)}x); median of ${n}`);
  } finally {
    await stopCertgate(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
