#!/usr/bin/env node
// The package's `bff-gateway` command (package.json `bin`):
//   bff-gateway          starts the gateway, as `npm start` (src/server.ts)
//   bff-gateway check    validates the configuration (src/ops/check.ts): exit 0 or 1
//   bff-gateway --help   the usage and every variable (src/config/help.ts): exit 0
// Anything else: the usage on stderr, exit 2 (a usage error, as in getopt's tools).
// With WORKERS > 1 the cluster forks this file again without arguments: a worker starts.
import { helpText, USAGE } from './config/help.js';

const [command, ...rest] = process.argv.slice(2);

if (command === undefined) {
  await import('./server.js');
} else if (['help', '--help', '-h'].includes(command) && rest.length === 0) {
  process.stdout.write(helpText());
} else if (command === 'check' && rest.length === 0) {
  const { check } = await import('./ops/check.js');
  process.exitCode = await check(process.env, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
} else {
  process.stderr.write(`bff-gateway: unknown command: ${[command, ...rest].join(' ')}\n\n${USAGE}`);
  process.exitCode = 2;
}
