import { get } from 'node:http';

/**
 * Scrapes `http://127.0.0.1:PORT/metrics` every `intervalMs` while a measurement runs, as a
 * Prometheus server would (taskwire-ts-metrics, issue 20): each scrape reads the whole answer.
 * A failed scrape is remembered and reported by stop(), so a run whose metrics broke never
 * passes for one that scraped.
 */
export function startScraper(port, intervalMs = 1000) {
  const stats = { scrapes: 0, bytes: 0, failures: 0, lastError: undefined };
  let inFlight = false;
  const scrape = () => {
    if (inFlight) return; // a scrape slower than the interval: Prometheus would skip one too
    inFlight = true;
    const request = get({ host: '127.0.0.1', port, path: '/metrics', timeout: 10_000 }, (response) => {
      let bytes = 0;
      response.on('data', (chunk) => (bytes += chunk.length));
      response.on('end', () => {
        inFlight = false;
        if (response.statusCode === 200) {
          stats.scrapes++;
          stats.bytes += bytes;
        } else {
          stats.failures++;
          stats.lastError = `HTTP ${response.statusCode}`;
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error('no answer in 10 s')));
    request.on('error', (error) => {
      inFlight = false;
      stats.failures++;
      stats.lastError = error.message;
    });
  };
  scrape();
  const timer = setInterval(scrape, intervalMs);
  return {
    stats,
    stop() {
      clearInterval(timer);
      return stats;
    },
  };
}
