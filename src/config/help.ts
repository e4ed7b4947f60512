// `bff-gateway --help`: the usage and every variable with its default and
// meaning, made from the configuration schema (src/config/schema.ts) itself,
// so that it cannot drift from what the start accepts.
import { ConfigSchema } from './schema.js';

export const USAGE = `Usage: bff-gateway [command]

Commands:
  (none)       start the gateway (as npm start does)
  check        validate the environment (and .env) and BFF_CONFIG, fetch each
               provider's discovery document, print the effective
               configuration with every secret redacted; exit 0, or 1 with
               the error
  help, --help, -h
               this text

Signals: SIGTERM/SIGINT close gracefully; SIGHUP re-reads BFF_CONFIG.
`;

interface Entry { default?: unknown; shownDefault?: string; description?: string }

/** Each variable: its name, its default ('required' or 'unset' when it has none), its meaning. */
export function variables(): Array<{ name: string; default: string; description: string }> {
  const required = new Set<string>(ConfigSchema.required ?? []);
  return Object.entries(ConfigSchema.properties as Record<string, Entry>).map(([name, entry]) => ({
    name,
    default: entry.shownDefault ?? (entry.default !== undefined ? String(entry.default) : required.has(name) ? 'required' : 'unset'),
    description: entry.description ?? '',
  }));
}

/** The whole --help text. */
export function helpText(): string {
  const vars = variables();
  const width = Math.max(...vars.map((v) => v.name.length));
  const lines = vars.map((v) => `  ${v.name.padEnd(width)}  ${v.description} [default: ${v.default}]`);
  return `${USAGE}\nEnvironment variables (also read from .env in the working directory):\n${lines.join('\n')}\n`;
}
