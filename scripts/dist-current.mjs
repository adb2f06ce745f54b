// Whether dist/ (scripts/build.mjs) is current: it exists and no TypeScript source under src/ or
// protocols/ changed since its build began. An installed copy without sources is current as built.
// Shared by bin/certgate.mjs (which falls back to tsx otherwise) and the tests' global set-up
// (which rebuilds). About 10 ms for the ~250 sources.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function distIsCurrent(root) {
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
