// The README's variable tables, the configuration schema and `--help` (made
// from the schema, src/config/help.ts) name the same variables: one added to
// the schema without a README row, or documented but not accepted, fails here.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ROOT } from '../fixtures/root.js';
import { CONFIG_VARIABLES, ConfigSchema } from '../../src/config/schema.js';

/** The variables named in the first cell of every row of the README's tables headed `| variable |`. */
function readmeVariables(): Set<string> {
  const found = new Set<string>();
  let inTable = false;
  for (const line of readFileSync(`${ROOT}README.md`, 'utf8').split('\n')) {
    if (/^\| variable \|/.test(line)) { inTable = true; continue; }
    if (!line.startsWith('|')) { inTable = false; continue; }
    if (!inTable || /^\| ---/.test(line)) continue;
    for (const m of line.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)) found.add(m[1]);
  }
  return found;
}

t.test('every schema variable has a README row, and every README row is a schema variable', async (t) => {
  const readme = readmeVariables();
  t.ok(readme.size > 40, `the tables were found (${readme.size} variables)`);
  t.same(CONFIG_VARIABLES.filter((v) => !readme.has(v)), [], 'no schema variable is missing from the README');
  t.same([...readme].filter((v) => !CONFIG_VARIABLES.includes(v)), [], 'no README variable is unknown to the schema');
});

t.test('every schema entry has a description for --help', async (t) => {
  const missing = Object.entries(ConfigSchema.properties as Record<string, { description?: string }>).filter(([, e]) => !e.description?.trim()).map(([k]) => k);
  t.same(missing, []);
});
