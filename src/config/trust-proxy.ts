// TRUST_PROXY: `true`, `false`, a hop count, or comma-separated
// addresses/CIDRs. What each means for a request is src/http/client-address.ts.
import { isIP } from 'node:net';
import { ConfigError } from './checks.js';

export type TrustProxy = boolean | number | string[];

/** An IPv4/IPv6 address, optionally with a /prefix that fits its family (what Fastify's proxy-addr accepts). */
function isAddressOrCidr(s: string): boolean {
  const [addr, prefix, ...more] = s.split('/');
  const family = isIP(addr);
  if (!family || more.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

export function parseTrustProxy(value: string): TrustProxy {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  // checked here: an address Fastify cannot compile would otherwise crash the start with a stack trace
  if (!list.length || !list.every(isAddressOrCidr)) {
    throw new ConfigError('TRUST_PROXY', 'must be true, false, a hop count, or comma-separated addresses/CIDRs');
  }
  return list;
}
