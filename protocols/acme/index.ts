import type { ProtocolModule } from '../../src/protocol.ts';

/** The acme adapter (being built). */
export const acmeProtocol: ProtocolModule = {
  name: 'acme',
  mount() {},
};
