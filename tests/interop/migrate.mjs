// Applies a drizzle-kit 0.x migration folder with drizzle-orm's own migrator
// (drizzle-orm/node-postgres, pinned in package.json) over a pg Pool of one connection.
//
//   node migrate.mjs <migrationsFolder> [migrationsSchema] [migrationsTable]
//
// Connection: DATABASE_URL when set, else the usual PG* variables (PGHOST, PGPORT, PGUSER,
// PGDATABASE, PGPASSWORD, ...). With MIGRATE_LOG_QUERIES=1 every query drizzle sends is printed
// to stderr as JSON (exact text and parameters). Exits 1 with the error message on failure.
import { runMigrator } from './lib/run-migrator.mjs';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';

await runMigrator({ drizzle, migrate, argv: process.argv.slice(2), name: 'migrate.mjs' });
