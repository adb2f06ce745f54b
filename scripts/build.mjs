#!/usr/bin/env node
// Compiles src/ and protocols/ to dist/ (tsconfig.build.json) once, at `npm install` (`prepare`)
// or `npm run build`, so the CLI and the server start without compiling TypeScript on each run.
// It builds into a fresh directory and swaps it in, so a CLI call running meanwhile never loads a
// half-written tree; dist/.build-stamp records when the build began (bin/certgate.mjs compares the
// sources' times with it and runs the sources through tsx when dist/ is older than they are).
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const tmp = join(root, `dist.build-${process.pid}`);
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const quiet = process.argv.includes('--quiet');

rmSync(tmp, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', tmp], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(tmp, { recursive: true, force: true });
  console.error('certgate build: tsc failed');
  process.exit(r.status ?? 1);
}
writeFileSync(join(tmp, '.build-stamp'), `${started}\n`);
const dist = join(root, 'dist');
const old = join(root, `dist.old-${process.pid}`);
if (existsSync(dist)) renameSync(dist, old);
renameSync(tmp, dist);
rmSync(old, { recursive: true, force: true });
if (!quiet) console.error(`certgate build: dist/ compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
