import type { ProtocolModule } from '../src/protocol.ts';

/** Every protocol adapter the server mounts, in mount order. */
export const protocols: ProtocolModule[] = [];
