import { createHash } from 'node:crypto';
import { ident, qualified, type Exec, type TableInfo } from './catalog.ts';

/** A table's rows, as a dump writes them, counted and hashed: the read-back check of a restore. */
export async function tableHash(exec: Exec, t: TableInfo, page = 1000): Promise<{ rows: number; sha256: string }> {
  const hash = createHash('sha256');
  let rows = 0;
  await exec(`declare certgate_check no scroll cursor for select row_to_json(t)::text as j from ${qualified(t.name)} t order by ${t.orderBy.map((c) => `t.${ident(c)}`).join(', ')}`);
  for (;;) {
    const got = await exec(`fetch ${page} from certgate_check`);
    for (const r of got) hash.update(String(r.j)).update('\n');
    rows += got.length;
    if (got.length < page) break;
  }
  await exec(`close certgate_check`);
  return { rows, sha256: hash.digest('hex') };
}
