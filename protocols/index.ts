import type { ProtocolModule } from '../src/protocol.ts';
import { acmeProtocol } from './acme/index.ts';
import { cmpProtocol } from './cmp/index.ts';
import { emcaProtocol } from './emca/index.ts';
import { epassportProtocol } from './epassport/index.ts';
import { estProtocol } from './est/index.ts';
import { ocspProtocol } from './ocsp/index.ts';
import { scepProtocol } from './scep/index.ts';

/** Every protocol adapter the server mounts, in mount order. */
export const protocols: ProtocolModule[] = [ocspProtocol, acmeProtocol, emcaProtocol, scepProtocol, estProtocol, cmpProtocol, epassportProtocol];
