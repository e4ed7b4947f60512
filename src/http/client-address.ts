// The client's address, as Fastify's request.ip and request.ips give it, for
// the proxy's own hot path (which runs without a Fastify request): the socket
// peer, or under TRUST_PROXY the forwarded chain the trust setting accepts.
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { TrustProxy } from '../config/trust-proxy.js';

/** The client address and, under TRUST_PROXY, the chain Fastify's request.ips would give. */
export function addressesOf(trust: ((addr: string, hop: number) => boolean) | undefined) {
  return (req: IncomingMessage): { ip: string; ips?: string[] } => {
    if (!trust) return { ip: req.socket.remoteAddress ?? '' };
    const ips = proxyAddr.all(req, trust);
    return { ip: ips[ips.length - 1], ips };
  };
}

/**
 * TRUST_PROXY for Fastify. A hop count trusts that many hops next to the
 * gateway, whatever their address (Express's meaning, which the README
 * promises): Fastify 5 itself treats a bare number as trusting nobody. Only
 * use it when nothing but the proxies can reach the gateway.
 */
export function trustProxyOption(tp: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof tp === 'number' ? (_address: string, hop: number) => hop < tp : tp;
}

/** The same setting as a proxy-addr trust function, as Fastify compiles it for request.ip, or none. */
export function trustFunction(tp: TrustProxy): ((addr: string, hop: number) => boolean) | undefined {
  const option = trustProxyOption(tp);
  if (option === false) return undefined;
  if (option === true) return () => true;
  return typeof option === 'function' ? option : proxyAddr.compile(option);
}
