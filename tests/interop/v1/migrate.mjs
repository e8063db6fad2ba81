// Applies a drizzle-kit 1.0 migration folder (<YYYYMMDDHHMMSS>_<name>/migration.sql) with the
// drizzle-orm 1.0 release candidate's own migrator (pinned in v1/package.json) over a pg Pool of
// one connection. Same arguments, environment and exit codes as ../migrate.mjs.
//
//   node v1/migrate.mjs <migrationsFolder> [migrationsSchema] [migrationsTable]
import { runMigrator } from '../lib/run-migrator.mjs';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';

await runMigrator({
  drizzle,
  migrate,
  argv: process.argv.slice(2),
  name: 'v1/migrate.mjs',
  pgFrom: import.meta.url,
});
