import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root directory (where package.json is). Files that are not modules — SQL
 * migrations in drizzle/, static files — are found from here, not from the module's own path: the
 * same module runs as src/x.ts (tsx, tests) and as dist/src/x.js (the compiled CLI and server).
 */
export const packageRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the package, e.g. `packagePath('drizzle')`. */
export function packagePath(...parts: string[]): string {
  return join(packageRoot, ...parts);
}

function findRoot(start: string): string {
  for (let dir = start; ; ) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && isCertgate(file)) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`certgate: no package.json above ${start}`);
    dir = up;
  }
}

function isCertgate(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'certgate';
  } catch {
    return false;
  }
}
