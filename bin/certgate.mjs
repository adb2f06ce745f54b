#!/usr/bin/env node
// Entry point: TypeScript runs through tsx (no build step), and this file — outside src/ —
// is where the protocol adapters are handed to the core.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
const { protocols } = await import('../protocols/index.ts');
await main(process.argv, protocols);
