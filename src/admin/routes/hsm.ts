/** The HSM: what the token holds and which issuers use it (`certgate hsm list`), and a sign-and-verify round per key (`certgate hsm test`). */
import type { Hono } from 'hono';
import { parsePkcs11Uri } from '../../ca/pkcs11/uri.ts';
import type { AppEnv } from '../../http/app-env.ts';
import type { AdminKit } from './kit.ts';

export function mountHsm(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, audit } = k;
  // Without an HSM both answer 200 with `configured: false` (nothing to list, nothing to test).
  const notConfigured = { configured: false, message: 'no HSM is configured (set CERTGATE_PKCS11_MODULE, CERTGATE_PKCS11_TOKEN or _SLOT, CERTGATE_PKCS11_PIN or _PIN_FILE)' };
  const hsmIssuers = () => ctx.issuers.list().filter((i) => /^pkcs11:/i.test(i.keyRef));

  api.get('/hsm', need('auditor', 'read the HSM'), async (c) => {
    const hsm = ctx.hsm;
    if (!hsm) return c.json(notConfigured);
    await ctx.issuers.load();
    const available = await hsm.token.check();
    const users = new Map<string, string[]>();
    for (const i of hsmIssuers()) users.set(i.keyRef, [...(users.get(i.keyRef) ?? []), i.id]);
    const keys = available ? await hsm.list().catch(() => []) : [];
    return c.json({
      configured: true,
      module: ctx.config.pkcs11Module,
      available,
      ...(available ? {} : { reason: hsm.token.reason }),
      slots: available ? await hsm.slots().catch(() => []) : [],
      token: hsm.token.tokenLabel || null,
      keys: keys.map((key) => ({
        keyRef: key.keyRef,
        label: key.label,
        id: key.id.toString('hex'),
        keyType: key.keyType,
        sensitive: key.sensitive,
        extractable: key.extractable,
        issuers: [...users.entries()].filter(([ref]) => sameKey(ref, key.label, key.id)).flatMap(([, ids]) => ids),
      })),
      issuers: hsmIssuers().map((i) => ({ id: i.id, keyRef: i.keyRef, keyAlgorithm: i.signer.keyAlgorithm })),
    });
  });

  api.post('/hsm/test', need('administrator', 'test the HSM'), async (c) => {
    const hsm = ctx.hsm;
    if (!hsm) return c.json({ ...notConfigured, ok: true, results: [] });
    await ctx.issuers.load();
    const results = [];
    for (const i of hsmIssuers()) {
      const r = await hsm.test(i.keyRef);
      results.push({ issuerId: i.id, keyRef: i.keyRef, keyAlgorithm: i.signer.keyAlgorithm, ok: r.ok, ms: Math.round(r.ms * 10) / 10, ...(r.error ? { error: r.error } : {}) });
    }
    await audit(c, 'hsm.test', ctx.hsm?.token.tokenLabel ?? 'hsm', { keys: results.length, failed: results.filter((r) => !r.ok).length });
    return c.json({ configured: true, ok: results.every((r) => r.ok), results });
  });
}

/** Whether an issuer's keyRef names this token key (by id when it has one, else by label). */
function sameKey(ref: string, label: string, id: Buffer): boolean {
  try {
    const u = parsePkcs11Uri(ref);
    return (u.id === undefined || u.id.equals(id)) && (u.object === undefined || u.object === label);
  } catch {
    return false;
  }
}
