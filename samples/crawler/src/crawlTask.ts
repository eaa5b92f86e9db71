/** What the producer puts on the queue for each image: the URL and what a good download is. */
export interface CrawlTask {
  url: string;
  category: string;
  name: string;
  size: number;
  sha256: string;
}

/** What a worker acks with; the manager routes it to the producer's results queue. */
export interface CrawlResult {
  url: string;
  file: string;
  bytes: number;
  sha256: string;
  worker: string;
  language: string;
  attempt: number;
}

export const DEFAULT_QUEUE = 'crawl.images';
export const DEFAULT_RESULTS = 'crawl.results';

/** `--name value` from argv, or the fallback. */
export function option(name: string, fallback?: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}
