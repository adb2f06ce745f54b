import { customType } from 'drizzle-orm/pg-core';

/**
 * bytea as Uint8Array on both drivers (PGlite and postgres.js return Uint8Array/Buffer). Apart from
 * schema.ts so that protocol schemas can use it without importing the core tables.
 */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBufferLike)),
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});
