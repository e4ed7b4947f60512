// Listening for the demo's servers: a port that is taken is a PortInUse
// error naming the part and the port (the CLI turns it into one line), and
// closing ends keep-alive connections so that Ctrl-C stops at once.
import type { Server } from 'node:http';

export class PortInUse extends Error {
  override name = 'PortInUse';
  constructor(public readonly part: string, public readonly port: number, public readonly host: string) {
    super(`port ${port} on ${host} (the ${part}) is already in use`);
  }
}

export function listen(server: Server, { port, host, part }: { port: number; host: string; part: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(e.code === 'EADDRINUSE' ? new PortInUse(part, port, host) : e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
