/**
 * The PKCS#11 settings checked at start, with messages that say what to fix: the module must be
 * a readable file, exactly one of token label or slot, exactly one of PIN or PIN file. The PIN is
 * never part of a message.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { ConfigError, type Config } from '../../config.ts';
import type { Pkcs11Settings } from './token.ts';

export function pkcs11Settings(config: Config): Pkcs11Settings | undefined {
  const { pkcs11Module: module, pkcs11Token: token, pkcs11Slot: slot, pkcs11Pin, pkcs11PinFile } = config;
  if (module === undefined) {
    if (token !== undefined || slot !== undefined || pkcs11Pin !== undefined || pkcs11PinFile !== undefined) {
      throw new ConfigError('CERTGATE_PKCS11_MODULE: set it to the HSM\'s PKCS#11 library (other CERTGATE_PKCS11_* settings are set)');
    }
    return undefined;
  }
  try {
    if (!statSync(module).isFile()) throw new Error('not a file');
    accessSync(module, constants.R_OK);
  } catch {
    throw new ConfigError(`CERTGATE_PKCS11_MODULE: ${module} is not a readable file (the HSM vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so)`);
  }
  if ((token === undefined) === (slot === undefined)) {
    throw new ConfigError('CERTGATE_PKCS11_TOKEN or CERTGATE_PKCS11_SLOT: set exactly one (the token label, or the slot number)');
  }
  if ((pkcs11Pin === undefined) === (pkcs11PinFile === undefined)) {
    throw new ConfigError('CERTGATE_PKCS11_PIN or CERTGATE_PKCS11_PIN_FILE: set exactly one (the token user PIN, or a file holding it)');
  }
  let pin: string;
  if (pkcs11PinFile !== undefined) {
    try {
      pin = readFileSync(pkcs11PinFile, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new ConfigError(`CERTGATE_PKCS11_PIN_FILE: cannot read ${pkcs11PinFile}`);
    }
    if (pin === '') throw new ConfigError(`CERTGATE_PKCS11_PIN_FILE: ${pkcs11PinFile} is empty`);
  } else {
    pin = pkcs11Pin!.reveal();
  }
  return { module, token, slot, pin, sessions: config.pkcs11Sessions };
}
