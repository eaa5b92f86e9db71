// A small image site to crawl, served locally: an index page, one HTML page per category
// linking generated PNG images (with their size and SHA-256 in data- attributes), and the
// troubles a real crawl meets: broken links (404), one slow endpoint, a flaky image (503
// once) and a glitchy one (truncated once).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makePng } from './png';

export type ImageKind = 'ok' | 'broken' | 'slow' | 'flaky' | 'glitch';

export interface SiteImage {
  path: string;
  category: string;
  name: string;
  kind: ImageKind;
  /** What a correct download has: for broken links, what the page claims. */
  size: number;
  sha256: string;
}

export interface SiteOptions {
  port?: number;
  categories?: string[];
  imagesPerCategory?: number;
  /** How long the slow endpoint takes (ms). */
  slowMs?: number;
  /** Latency of every other image (ms), so the work spreads over the workers. */
  delayMs?: number;
  /** Sees every request: its path and User-Agent. */
  onRequest?: (path: string, userAgent: string) => void;
  /**
   * How many hosts serve the images: category c's are on 127.0.0.(1 + c % hosts), all on the
   * same port (Linux answers on all of 127/8; macOS needs `ifconfig lo0 alias 127.0.0.2` and so
   * on). Default 1: every image on 127.0.0.1.
   */
  hosts?: number;
}

/** One request the site served: the host it was sent to (host:port), its path, when (ms). */
export interface SiteRequest {
  host: string;
  path: string;
  at: number;
}

export interface Site {
  url: string;
  images: SiteImage[];
  /** Requests served per path. */
  hits: Map<string, number>;
  /** Every request, in the order they came. */
  requests: SiteRequest[];
  /** Per host, the most image requests it had in any one second: what a polite crawler keeps low. */
  busiestSecond(): Map<string, number>;
  close(): Promise<void>;
}

function describe(category: string, name: string, kind: ImageKind, png: Buffer): SiteImage {
  return { path: `/images/${category}/${name}`, category, name, kind, size: png.length, sha256: createHash('sha256').update(png).digest('hex') };
}

export async function startSite(options: SiteOptions = {}): Promise<Site> {
  const categories = options.categories ?? ['cats', 'dogs', 'birds', 'fish'];
  const perCategory = options.imagesPerCategory ?? 6;
  const slowMs = options.slowMs ?? 1500;
  const delayMs = options.delayMs ?? 20;
  const images: SiteImage[] = [];
  const bodies = new Map<string, Buffer>();
  let seed = 1;
  const add = (category: string, name: string, kind: ImageKind) => {
    const png = makePng(32 + (seed % 5) * 8, 24 + (seed % 3) * 8, seed++);
    const image = describe(category, name, kind, png);
    images.push(image);
    if (kind !== 'broken') bodies.set(image.path, png);
  };
  categories.forEach((category, c) => {
    for (let i = 0; i < perCategory; i++) add(category, `${category}-${i}.png`, 'ok');
    add(category, `missing-${c}.png`, 'broken');
    if (c === 0) add(category, 'flaky.png', 'flaky');
    if (c === 0) add(category, 'glitch.png', 'glitch');
    if (c === 1) add(category, 'slow.png', 'slow');
  });

  const hits = new Map<string, number>();
  const hostCount = Math.max(1, options.hosts ?? 1);
  const requests: SiteRequest[] = [];
  let port = options.port ?? 0;
  const hostOf = (c: number) => `127.0.0.${1 + (c % hostCount)}:${port}`;
  const page = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://site').pathname;
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    requests.push({ host: request.headers.host ?? '', path, at: Date.now() });
    options.onRequest?.(path, request.headers['user-agent'] ?? '');
    if (path === '/') {
      const links = categories.map((c) => `<li><a href="/category/${c}.html">${c}</a></li>`).join('');
      response.writeHead(200, { 'content-type': 'text/html' }).end(page('Image site', `<ul>${links}</ul>`));
      return;
    }
    const category = /^\/category\/([a-z]+)\.html$/.exec(path)?.[1];
    if (category && categories.includes(category)) {
      // The first page also shows the second page's first image: a link a crawl finds twice.
      const shared = category === categories[0] ? images.filter((image) => image.category === categories[1]).slice(0, 1) : [];
      const tags = images
        .filter((image) => image.category === category)
        .concat(shared)
        .map((image) => `<img src="http://${hostOf(categories.indexOf(image.category))}${image.path}" alt="${image.name}" data-size="${image.size}" data-sha256="${image.sha256}">`)
        .join('\n');
      response.writeHead(200, { 'content-type': 'text/html' }).end(page(category, tags));
      return;
    }
    const image = images.find((candidate) => candidate.path === path);
    const body = bodies.get(path);
    if (!image || !body) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const send = (bytes: Buffer) => response.writeHead(200, { 'content-type': 'image/png', 'content-length': bytes.length }).end(bytes);
    if (image.kind === 'flaky' && hit === 1) {
      response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' }).end('busy, try again');
      return;
    }
    if (image.kind === 'glitch' && hit === 1) {
      send(body.subarray(0, body.length - 7));
      return;
    }
    setTimeout(() => send(body), image.kind === 'slow' ? slowMs : delayMs);
  };
  // One server per host address, all on the port the first one got.
  const servers: Server[] = [];
  for (let h = 0; h < hostCount; h++) {
    const server = createServer(handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, `127.0.0.${1 + h}`, resolve);
    });
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    images,
    hits,
    requests,
    busiestSecond: () => {
      const most = new Map<string, number>();
      const byHost = new Map<string, number[]>();
      for (const { host, path, at } of requests) if (path.startsWith('/images/')) byHost.set(host, [...(byHost.get(host) ?? []), at]);
      for (const [host, times] of byHost) {
        let end = 0;
        let best = 0;
        for (let start = 0; start < times.length; start++) {
          while (end < times.length && times[end]! < times[start]! + 1000) end++;
          best = Math.max(best, end - start);
        }
        most.set(host, best);
      }
      return most;
    },
    close: () =>
      Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}

if (require.main === module) {
  const port = Number(process.argv[process.argv.indexOf('--port') + 1] || 8080);
  const hosts = process.argv.includes('--hosts') ? Number(process.argv[process.argv.indexOf('--hosts') + 1]) : 1;
  void startSite({ port, hosts }).then((site) => {
    const broken = site.images.filter((i) => i.kind === 'broken').length;
    console.log(`image site on ${site.url}/ : ${site.images.length} images on ${hosts} host(s) (${broken} broken links, one slow, one flaky, one glitchy)`);
    // Ctrl+C: how polite the crawl was, per host.
    process.once('SIGINT', () => {
      for (const [host, most] of site.busiestSecond())
        console.log(`${host}: ${site.requests.filter((r) => r.host === host && r.path.startsWith('/images/')).length} image requests, at most ${most} in any one second`);
      void site.close().then(() => process.exit(0));
    });
  });
}
