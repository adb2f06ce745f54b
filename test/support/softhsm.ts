/**
 * A SoftHSM2 token of the test's own: a temporary token directory, its own softhsm2.conf
 * (SOFTHSM2_CONF, read by the module at C_Initialize) and `softhsm2-util --init-token`.
 * `takeAway()` / `bringBack()` move the token directory aside and back: the token "unplugged".
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsm {
  dir: string;
  conf: string;
  label: string;
  pin: string;
  soPin: string;
  module: string;
  /** Config overrides for Certgate (CERTGATE_PKCS11_*). */
  settings: Record<string, unknown>;
  takeAway(): void;
  bringBack(): void;
  cleanup(): void;
}

export function makeSoftHsm(label = 'certgate-test'): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'certgate-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = true\n`);
  process.env.SOFTHSM2_CONF = conf;
  const pin = '815-4711';
  const soPin = '12345678';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' });
  return {
    dir,
    conf,
    label,
    pin,
    soPin,
    module: SOFTHSM_MODULE,
    settings: { pkcs11Module: SOFTHSM_MODULE, pkcs11Token: label, pkcs11Pin: pin },
    takeAway: () => renameSync(tokens, `${tokens}.away`),
    bringBack: () => renameSync(`${tokens}.away`, tokens),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `pkcs11-tool` (OpenSC) on this token: an independent reader of what the token holds. */
export function pkcs11Tool(hsm: SoftHsm, args: string[]): string {
  return execFileSync('pkcs11-tool', ['--module', hsm.module, '--token-label', hsm.label, '--login', '--pin', hsm.pin, ...args], {
    env: { ...process.env, SOFTHSM2_CONF: hsm.conf },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
