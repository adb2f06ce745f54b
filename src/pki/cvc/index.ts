/** Card-verifiable certificates (BSI TR-03110-3): one structure per file; this re-exports them. */
export * from './body.ts';
export * from './certificate.ts';
export * from './chain.ts';
export * from './chat.ts';
export * from './curves.ts';
export * from './dates.ts';
export * from './errors.ts';
export * from './extensions.ts';
export * from './oids.ts';
export * from './public-key.ts';
export * from './reference.ts';
export * from './request.ts';
export * from './signature.ts';
export * from './tlv.ts';
