import { LOCK_BOOTSTRAP, type Database } from '../db/client.ts';
import { attributeOid } from '../pki/oids.ts';
import { keySpecFor, type CaKeyType } from './keys.ts';
import { randomSuffix, type IssuerRegistry } from './registry.ts';

export const DEV_ROOT_ID = 'dev-root';
export const DEV_ISSUING_ID = 'dev-issuing';

/**
 * On first start, creates the development hierarchy: a root (20 years) and an issuing CA
 * (10 years, pathLen 0, the default issuer). Several instances may start together on one
 * PostgreSQL, so creation happens under an advisory lock and only when no issuer exists.
 */
export async function ensureDevHierarchy(database: Database, registry: IssuerRegistry, keyType: CaKeyType): Promise<boolean> {
  await registry.load();
  if (registry.list().length > 0) return false;
  let created = false;
  await database.withLock(LOCK_BOOTSTRAP, async () => {
    await registry.load();
    if (registry.list().length > 0) return;
    const tag = randomSuffix();
    const o = (name: string) => [
      { oid: attributeOid('O')!, value: 'Certgate Development', encoding: 'utf8' as const },
      { oid: attributeOid('CN')!, value: `${name} ${tag}`, encoding: 'utf8' as const },
    ];
    const key = keySpecFor(keyType);
    await registry.create({ id: DEV_ROOT_ID, name: 'Certgate Development Root CA', subject: o('Certgate Dev Root CA'), key, validityDays: 20 * 365 });
    await registry.create({
      id: DEV_ISSUING_ID,
      name: 'Certgate Development Issuing CA',
      subject: o('Certgate Dev Issuing CA'),
      key,
      parentId: DEV_ROOT_ID,
      validityDays: 10 * 365,
      pathLength: 0,
      isDefault: true,
    });
    created = true;
  });
  return created;
}
