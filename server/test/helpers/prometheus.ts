import { get } from 'node:http';

// Reading what `taskwire serve --metrics` serves: HTTP GETs, and the exposition text parsed by
// a real parser of the format (parse-prometheus-text-format, the port of the Prometheus Python
// client's parser), never by matching substrings.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (text: string) => MetricFamily[];

/** One metric family as the parser gives it (prom2json's shape): values are strings. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

export interface HttpAnswer {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** GET http://host:port/path, with a generous timeout. */
export function httpGet(port: number, path: string, host = '127.0.0.1'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = get({ host, port, path, timeout: 15_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'], body }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path}: no answer in 15 s`)));
    request.on('error', reject);
  });
}

/** The parsed families of a scrape, by name. */
export class Scrape {
  readonly families = new Map<string, MetricFamily>();
  /**
   * The samples of histograms, by series name (`x_bucket`, `x_sum`, `x_count`) with all their
   * labels: the parser folds a histogram's samples into one object per family and loses labels
   * other than `le` on the way (prom2json's flattening), so its histograms are read again as
   * untyped families of samples.
   */
  private readonly series = new Map<string, MetricFamily>();

  constructor(readonly text: string) {
    for (const family of parsePrometheusTextFormat(text)) this.families.set(family.name, family);
    const untyped = text.replace(/^# TYPE \S+ histogram$/gm, '');
    // Read untyped, the series of one histogram alternate (x_bucket, x_sum, x_count, x_bucket...): gather them by name.
    for (const family of parsePrometheusTextFormat(untyped)) {
      if (this.families.has(family.name)) continue;
      const seen = this.series.get(family.name);
      if (seen) seen.metrics.push(...family.metrics);
      else this.series.set(family.name, family);
    }
  }

  static async of(port: number): Promise<Scrape> {
    const answer = await httpGet(port, '/metrics');
    if (answer.status !== 200) throw new Error(`GET /metrics: ${answer.status} ${answer.body}`);
    return new Scrape(answer.body);
  }

  family(name: string, type: MetricFamily['type']): MetricFamily {
    const family = this.families.get(name);
    if (!family) throw new Error(`no metric ${name} in the scrape:\n${this.text}`);
    if (family.type !== type) throw new Error(`${name} is a ${family.type}, not a ${type}`);
    return family;
  }

  /** The value of the one sample of a counter or gauge whose labels include `labels`; undefined when none. */
  value(name: string, labels: Record<string, string> = {}, type: 'COUNTER' | 'GAUGE' = name.endsWith('_total') ? 'COUNTER' : 'GAUGE'): number | undefined {
    const matching = this.family(name, type).metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
    return matching[0] === undefined ? undefined : Number(matching[0].value);
  }

  /** A histogram's count, sum and cumulative buckets for the labels; undefined when it has no such series. */
  histogram(name: string, labels: Record<string, string> = {}): { count: number; sum: number; buckets: Record<string, number> } | undefined {
    this.family(name, 'HISTOGRAM');
    const matches = (m: { labels?: Record<string, string> }) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v);
    const samples = (suffix: string) => (this.series.get(`${name}_${suffix}`)?.metrics ?? []).filter(matches);
    const [count, sum] = [samples('count'), samples('sum')];
    if (count.length === 0) return undefined;
    if (count.length > 1) throw new Error(`${count.length} series of ${name} match ${JSON.stringify(labels)}`);
    const buckets = Object.fromEntries(samples('bucket').map((m) => [m.labels!['le']!, Number(m.value)]));
    return { count: Number(count[0]!.value), sum: Number(sum[0]!.value), buckets };
  }
}
