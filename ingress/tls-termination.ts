// HTTPS termination at the ingress: the certificate is chosen by SNI among the listeners on the
// port (the most specific hostname match, else the port's first certificate), ALPN offers h2
// and http/1.1, and the decrypted stream re-enters the listener layer as HTTP/1.1 or HTTP/2.
// Secure contexts are built once per secret and table version.
import tls from 'node:tls';
import type net from 'node:net';
import type { RoutingTable } from '../api/routing-table.ts';
import { selectListener } from './gateway-select.ts';

export class CertificateStore {
  #table: RoutingTable | null = null;
  #contexts = new Map<string, tls.SecureContext>();

  #context(table: RoutingTable, secretName: string): tls.SecureContext | null {
    if (this.#table !== table) {
      this.#table = table;
      this.#contexts = new Map();
    }
    let ctx = this.#contexts.get(secretName);
    if (!ctx) {
      const secret = table.secrets.find((s) => s.name === secretName);
      if (!secret) return null;
      ctx = tls.createSecureContext({ cert: secret.certificateChain, key: secret.privateKey });
      this.#contexts.set(secretName, ctx);
    }
    return ctx;
  }

  /** The context for `servername` on `port`; null when the port has no certificate at all. */
  forServerName(table: RoutingTable, port: number, servername: string): tls.SecureContext | null {
    const chosen = selectListener(table.gateways, port, servername.toLowerCase());
    const secret = chosen?.listener.certificates[0] ?? this.#defaultSecret(table, port);
    return secret ? this.#context(table, secret) : null;
  }

  #defaultSecret(table: RoutingTable, port: number): string | null {
    for (const g of table.gateways) {
      for (const p of g.ports) {
        if (p.port !== port) continue;
        for (const l of p.listeners) if (l.certificates[0]) return l.certificates[0];
      }
    }
    return null;
  }
}

export interface Terminated {
  socket: tls.TLSSocket;
  servername: string | null;
  protocol: 'http1' | 'h2c';
}

/** Runs the server side of the handshake; resolves with the decrypted socket. */
export function terminateTls(socket: net.Socket, store: CertificateStore, table: () => RoutingTable | null, port: number, handshakeTimeoutMs = 10_000): Promise<Terminated> {
  return new Promise((resolve, reject) => {
    const t = table();
    const fallback = t ? store.forServerName(t, port, '') : null;
    if (!t || !fallback) {
      reject(new Error(`no certificate for port ${port}`));
      return;
    }
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: fallback,
      ALPNProtocols: ['h2', 'http/1.1'],
      SNICallback: (servername, cb) => {
        const current = table();
        cb(null, (current && store.forServerName(current, port, servername)) ?? fallback);
      },
    });
    const timer = setTimeout(() => secure.destroy(new Error('TLS handshake timeout')), handshakeTimeoutMs);
    secure.once('secure', () => {
      clearTimeout(timer);
      // A server-side TLSSocket made without a tls.Server never clears `secureConnecting`
      // (only tls.Server does), and node's HTTP/2 session waits for it before reading.
      (secure as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
      const name = (secure as tls.TLSSocket & { servername?: string | false }).servername;
      resolve({ socket: secure, servername: typeof name === 'string' ? name.toLowerCase() : null, protocol: secure.alpnProtocol === 'h2' ? 'h2c' : 'http1' });
    });
    secure.once('error', (err: Error) => {
      clearTimeout(timer);
      secure.destroy();
      reject(err);
    });
  });
}
