// Prints drizzle-orm's hash of each migration file, as its migrator computes it:
// sha256 hex of fs.readFileSync(file).toString() (the file decoded as UTF-8, then re-encoded).
//
//   node hash.mjs <file>...     ->  "<hash>  <file>" per line
import crypto from 'node:crypto';
import fs from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node hash.mjs <file>...');
  process.exit(2);
}
let code = 0;
for (const file of files) {
  try {
    const text = fs.readFileSync(file).toString();
    console.log(`${crypto.createHash('sha256').update(text).digest('hex')}  ${file}`);
  } catch (err) {
    console.error(`hash.mjs: ${file}: ${err.message}`);
    code = 1;
  }
}
process.exit(code);
