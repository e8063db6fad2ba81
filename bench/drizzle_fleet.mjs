// drizzle-orm's own migrator (node-postgres, pinned in tests/interop) over a fleet, JOBS
// databases at a time from one node process: each database gets its own pg Pool of one
// connection, as tests/interop/migrate.mjs does for one database.
//
//   node bench/drizzle_fleet.mjs JOBS FOLDER DSN...
//
// Exits 1 when any database failed (the first error is printed). Used by bench/wan.sh.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'interop', 'package.json'));
const { Pool } = require('pg');
const { drizzle } = require('drizzle-orm/node-postgres');
const { migrate } = require('drizzle-orm/node-postgres/migrator');

const [jobsText, folder, ...dsns] = process.argv.slice(2);
const jobs = Number(jobsText);
if (!(jobs >= 1) || !folder || dsns.length === 0) {
  console.error('usage: node bench/drizzle_fleet.mjs JOBS FOLDER DSN...');
  process.exit(2);
}

let next = 0;
let failed = 0;
async function worker() {
  while (next < dsns.length) {
    const dsn = dsns[next++];
    const pool = new Pool({ connectionString: dsn, max: 1 });
    pool.on('error', () => {});
    try {
      await migrate(drizzle({ client: pool }), { migrationsFolder: path.resolve(folder) });
    } catch (err) {
      if (failed++ === 0) console.error(`drizzle_fleet: ${err.message}`);
    } finally {
      await pool.end().catch(() => {});
    }
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, dsns.length) }, worker));
process.exit(failed ? 1 : 0);
