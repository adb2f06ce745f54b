#!/usr/bin/env node
// Entry point, and where the protocol adapters are handed to the core (src/ never imports them).
// It runs the JavaScript compiled at install time (dist/, `npm run build`); from a checkout whose
// sources are newer than dist/ — or with CERTGATE_FROM_SOURCE=1 — it runs the TypeScript through
// tsx instead (seconds slower per call, always current).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Answered before loading anything: scripts call it to check the install.
  process.stdout.write(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version + '\n');
  process.exit(0);
}

let main, protocols;
if (compiledIsCurrent()) {
  ({ main } = await import('../dist/src/main.js'));
  ({ protocols } = await import('../dist/protocols/index.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/main.ts'));
  ({ protocols } = await import('../protocols/index.ts'));
}
await main(process.argv, protocols);

/** dist/ exists and no source file changed since it was built (no sources at all: an installed copy). */
function compiledIsCurrent() {
  if (process.env.CERTGATE_FROM_SOURCE === '1') return false;
  let built;
  try {
    built = Number(readFileSync(join(root, 'dist', '.build-stamp'), 'utf8'));
  } catch {
    return false;
  }
  for (const dir of ['src', 'protocols']) {
    const base = join(root, dir);
    if (!existsSync(base)) continue;
    for (const f of readdirSync(base, { recursive: true })) {
      if (f.endsWith('.ts') && statSync(join(base, f)).mtimeMs > built) return false;
    }
  }
  return true;
}
