#!/usr/bin/env node
// Entry point, and where the protocol adapters are handed to the core (src/ never imports them).
// It runs the JavaScript compiled at install time (dist/, `npm run build`); from a checkout whose
// sources are newer than dist/ — or with CERTGATE_FROM_SOURCE=1 — it runs the TypeScript through
// tsx instead (seconds slower per call, always current).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsCurrent } from '../scripts/dist-current.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Answered before loading anything: scripts call it to check an install.
  process.stdout.write(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version + '\n');
  process.exit(0);
}

let main, protocols;
if (process.env.CERTGATE_FROM_SOURCE !== '1' && distIsCurrent(root)) {
  ({ main } = await import('../dist/src/main.js'));
  ({ protocols } = await import('../dist/protocols/index.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/main.ts'));
  ({ protocols } = await import('../protocols/index.ts'));
}
await main(process.argv, protocols);
