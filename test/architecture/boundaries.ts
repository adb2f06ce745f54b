/**
 * The dependency rules of docs/architecture.md, checked on source text: which module imports
 * which, and which SQL names which table. Used by boundaries.test.ts on the real tree and on
 * small fixtures that must fail.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Core modules a protocol must not import: the core tables, the core context, the KEK and what holds keys or tokens. */
export const forbiddenForProtocols = [
  'src/db/schema.ts',
  'src/context.ts',
  'src/ca/seal.ts',
  'src/ca/kek.ts',
  'src/ca/keystore.ts',
  'src/ca/registry.ts',
  'src/ca/service-identities.ts',
  'src/db/certificate-writer.ts',
  'src/admin/tokens.ts',
  'src/protocol-context-impl.ts',
];

/** Tables of the core (src/db/schema.ts); protocols have their own in protocols/<p>/schema.ts. */
export const coreTables = ['certificates', 'issuers', 'pending_requests', 'settings', 'principals', 'revocations', 'crls', 'audit_events', 'profiles', 'sealed_keys', 'service_identities'];

export interface SourceFile {
  /** Path from the repository root, `/`-separated. */
  path: string;
  text: string;
}

export interface Violation {
  file: string;
  rule: 'src-imports-protocol' | 'protocol-imports-protocol' | 'protocol-imports-core-internals' | 'protocol-sql-on-core-table';
  detail: string;
}

export function listSources(root: string, dirs: string[]): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push({ path: relative(root, p).split('\\').join('/'), text: readFileSync(p, 'utf8') });
    }
  };
  for (const d of dirs) walk(join(root, d));
  return out;
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
export function importsOf(text: string): string[] {
  const code = stripComments(text);
  const out: string[] = [];
  for (const m of code.matchAll(/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/[^\n]*/g, '$1');
}

const protocolOf = (path: string) => /^protocols\/([^/]+)\//.exec(path)?.[1];

export function check(files: SourceFile[]): Violation[] {
  const out: Violation[] = [];
  const tableRe = new RegExp(`\\b(?:from|join|into|update|table)\\s+"?(${coreTables.join('|')})\\b"?`, 'gi');
  for (const f of files) {
    const inSrc = f.path.startsWith('src/');
    const proto = protocolOf(f.path);
    for (const spec of importsOf(f.text)) {
      if (!spec.startsWith('.')) continue;
      const target = relative('/', resolve('/', dirname(f.path), spec)).split('\\').join('/');
      if (inSrc && target.startsWith('protocols/')) out.push({ file: f.path, rule: 'src-imports-protocol', detail: target });
      if (proto) {
        const other = protocolOf(target);
        if (other && other !== proto) out.push({ file: f.path, rule: 'protocol-imports-protocol', detail: target });
        if (target === 'protocols/index.ts') out.push({ file: f.path, rule: 'protocol-imports-protocol', detail: target });
        if (forbiddenForProtocols.includes(target)) out.push({ file: f.path, rule: 'protocol-imports-core-internals', detail: target });
      }
    }
    if (proto) {
      for (const m of stripComments(f.text).matchAll(tableRe)) out.push({ file: f.path, rule: 'protocol-sql-on-core-table', detail: m[0] });
    }
  }
  return out;
}
