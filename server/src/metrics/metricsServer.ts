import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ManagerMetrics } from './managerMetrics';

/**
 * `taskwire serve --metrics HOST:PORT`: plain HTTP for Prometheus and for orchestrators' probes.
 * - GET /metrics: the exposition text (prom-client's);
 * - GET /healthz: 200 while the process runs (a liveness probe: restart it when this fails);
 * - GET /readyz: 200 when the manager listens and its store answers, else 503 and the reason as
 *   text (a readiness probe: send it no clients meanwhile).
 * Anything else: 404 (405 for a method other than GET or HEAD). No key: bind it to loopback, or
 * to an address only the scraper reaches (queue names show in /metrics).
 */
export class MetricsServer {
  private readonly http: Server;

  constructor(private readonly metrics: ManagerMetrics) {
    this.http = createServer((request, response) => void this.answer(request, response));
    // A scraper's keep-alive connection must not hold the manager's shutdown.
    this.http.keepAliveTimeout = 5000;
  }

  /** Starts listening; rejects with the listen error (EADDRINUSE, EADDRNOTAVAIL, EACCES). */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' }).end('only GET and HEAD\n');
      return;
    }
    try {
      switch (path) {
        case '/metrics': {
          const { text, contentType } = await this.metrics.scrape();
          send(response, 200, text, contentType);
          return;
        }
        case '/healthz':
          send(response, 200, 'ok\n');
          return;
        case '/readyz': {
          const reason = await this.metrics.unready();
          send(response, reason === undefined ? 200 : 503, reason === undefined ? 'ready\n' : `${reason}\n`);
          return;
        }
        default:
          send(response, 404, `not found: ${path} (try /metrics, /healthz or /readyz)\n`);
      }
    } catch (error) {
      send(response, 500, `${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

function send(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}
