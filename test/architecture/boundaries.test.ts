/**
 * The seam holds (docs/architecture.md): src/ never imports protocols/, a protocol never imports
 * another, and a protocol reaches the core only through ProtocolContext — no core table (by import
 * of src/db/schema.ts or by SQL text), no core context, no KEK.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, importsOf, listSources, type SourceFile } from './boundaries.ts';

const root = join(import.meta.dirname, '../..');

describe('architecture boundaries', () => {
  it('hold on the source tree', () => {
    const files = listSources(root, ['src', 'protocols']);
    expect(files.length).toBeGreaterThan(50);
    expect(files.some((f) => f.path === 'protocols/acme/routes.ts')).toBe(true);
    expect(check(files)).toEqual([]);
  });

  describe('the checker catches each kind of violation (fixtures)', () => {
    const one = (path: string, text: string): SourceFile[] => [{ path, text }];

    it('src/ importing a protocol, statically or dynamically', () => {
      expect(check(one('src/server.ts', "import { x } from '../protocols/acme/index.ts';"))).toEqual([
        { file: 'src/server.ts', rule: 'src-imports-protocol', detail: 'protocols/acme/index.ts' },
      ]);
      expect(check(one('src/cli/x.ts', "const m = await import('../../protocols/ocsp/cli.ts');"))[0]?.rule).toBe('src-imports-protocol');
    });

    it('a protocol importing another protocol (or the protocol list)', () => {
      expect(check(one('protocols/est/routes.ts', "import type { A } from '../acme/schema.ts';"))[0]).toEqual({
        file: 'protocols/est/routes.ts',
        rule: 'protocol-imports-protocol',
        detail: 'protocols/acme/schema.ts',
      });
      expect(check(one('protocols/est/a.ts', "export { x } from '../index.ts';"))[0]?.rule).toBe('protocol-imports-protocol');
      expect(check(one('protocols/est/a.ts', "import { y } from './b.ts';"))).toEqual([]);
    });

    it('a protocol importing the core tables, the core context or the KEK', () => {
      for (const target of ['src/db/schema.ts', 'src/context.ts', 'src/ca/seal.ts', 'src/ca/kek.ts']) {
        expect(check(one('protocols/scep/x.ts', `import { a } from '../../${target}';`))).toEqual([
          { file: 'protocols/scep/x.ts', rule: 'protocol-imports-core-internals', detail: target },
        ]);
      }
      // The seam and pure helpers are fine.
      expect(check(one('protocols/scep/x.ts', "import type { ProtocolContext } from '../../src/protocol-context.ts';\nimport { parseCsr } from '../../src/pki/csr.ts';"))).toEqual([]);
    });

    it('a protocol naming a core table in SQL text', () => {
      const v = check(one('protocols/cmp/x.ts', 'const q = `select der from certificates where id = $1`;'));
      expect(v.map((x) => x.rule)).toEqual(['protocol-sql-on-core-table']);
      expect(check(one('protocols/cmp/x.ts', "await db.execute(sql`update issuers set status = 'retired'`);"))[0]?.rule).toBe('protocol-sql-on-core-table');
      expect(check(one('protocols/cmp/x.ts', 'const q = `select * from cmp_transactions`; // not from certificates'))).toEqual([]);
    });

    it('reads import specifiers of every form, not those in comments', () => {
      expect(importsOf("import a from './a.ts';\nimport { b,\n c } from \"./b.ts\";\nexport * from './c.ts';\nimport './d.ts';\nawait import('./e.ts');\n// import x from './no.ts'\n/* import y from './no2.ts' */")).toEqual([
        './a.ts',
        './b.ts',
        './c.ts',
        './d.ts',
        './e.ts',
      ]);
    });
  });
});
