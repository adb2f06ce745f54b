import type { ProtocolModule } from '../../src/protocol.ts';

/** The emca adapter (being built). */
export const emcaProtocol: ProtocolModule = {
  name: 'emca',
  mount() {},
};
