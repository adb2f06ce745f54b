import type { ProtocolModule } from '../../src/protocol.ts';

/** The ocsp adapter (being built). */
export const ocspProtocol: ProtocolModule = {
  name: 'ocsp',
  mount() {},
};
