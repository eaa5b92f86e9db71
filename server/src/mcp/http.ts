import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LOOPBACK_HOSTS } from './loopback';

/**
 * A Streamable HTTP endpoint at /mcp, stateless: each POST gets a fresh MCP server and
 * transport (the SDK's stateless pattern), all sharing one connection to the manager.
 */
export async function serveHttp(address: { host: string; port: number }, makeServer: () => McpServer, log: (line: string) => void): Promise<() => Promise<void>> {
  const http = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/mcp') return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the MCP endpoint is /mcp\n');
    if (request.method !== 'POST') return void response.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('this stateless endpoint takes POST only\n');
    const port = (http.address() as { port: number }).port;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      // A web page the user visits must not reach a loopback endpoint through DNS rebinding.
      ...(LOOPBACK_HOSTS.has(address.host) ? { enableDnsRebindingProtection: true, allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`] } : {}),
    });
    const server = makeServer();
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(request, response))
      .catch((error: unknown) => {
        log(`HTTP request failed: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent) response.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(address.port, address.host, () => resolve());
  });
  address.port = (http.address() as { port: number }).port;
  return () => new Promise<void>((resolve) => http.close(() => resolve()));
}
