// Shared driver of migrate.mjs and v1/migrate.mjs: argument parsing, the pg Pool (max 1),
// optional query logging, and error reporting. `pg` is resolved from the caller's install.
import { createRequire } from 'node:module';
import path from 'node:path';

const USAGE = 'usage: node %s <migrationsFolder> [migrationsSchema] [migrationsTable]';

function describe(err) {
  const parts = [];
  for (let e = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    const msg = e instanceof Error ? e.message : String(e);
    const code = e && typeof e === 'object' && 'code' in e && e.code ? ` [${e.code}]` : '';
    if (!parts.includes(msg + code)) parts.push(msg + code);
  }
  return parts.join('\n  caused by: ');
}

export async function runMigrator({ drizzle, migrate, argv, name, pgFrom = import.meta.url }) {
  const [folder, schema, table] = argv;
  if (!folder || argv.length > 3 || folder === '-h' || folder === '--help') {
    console.error(USAGE.replace('%s', name));
    process.exit(2);
  }
  const require = createRequire(pgFrom);
  const { Pool } = require('pg');

  const poolConfig = { max: 1 };
  if (process.env.DATABASE_URL) poolConfig.connectionString = process.env.DATABASE_URL;
  const pool = new Pool(poolConfig);
  pool.on('error', () => {}); // an idle client's error surfaces through the failing query

  const logger = process.env.MIGRATE_LOG_QUERIES === '1'
    ? { logQuery: (query, params) => console.error(JSON.stringify({ query, params })) }
    : undefined;
  const db = drizzle({ client: pool, logger });

  const config = { migrationsFolder: path.resolve(folder) };
  if (schema !== undefined) config.migrationsSchema = schema;
  if (table !== undefined) config.migrationsTable = table;

  let code = 0;
  try {
    const result = await migrate(db, config);
    if (result && typeof result === 'object' && 'exitCode' in result) {
      console.error(`${name}: migrator returned exitCode ${result.exitCode}`);
      code = 1;
    }
  } catch (err) {
    console.error(`${name}: ${describe(err)}`);
    code = 1;
  } finally {
    await pool.end().catch(() => {});
  }
  process.exit(code);
}
