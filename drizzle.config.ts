import { defineConfig } from 'drizzle-kit';

// One migration history for the core and every protocol's own tables.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/db/schema.ts', './protocols/*/schema.ts'],
  out: './drizzle',
});
