import type { Metric, MetricValueWithName, Registry } from 'prom-client';

/**
 * A histogram with one label, for observations on the path of every task: an observation is a
 * walk over the bounds and three additions in numbers the series owns, with nothing allocated
 * (prom-client's own observe builds a label object and a key string each time). prom-client
 * still writes the exposition text: the registry reads `get()` at each scrape, in the shape
 * of its own metrics.
 */
export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one label value (keep it: looking it up again is what it saves). */
  labels(value: string): HistogramSeries {
    let series = this.series.get(value);
    if (!series) this.series.set(value, (series = new HistogramSeries(this.bounds)));
    return series;
  }

  /** What prom-client formats: per series, cumulative buckets, +Inf, sum and count. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    for (const [labelValue, series] of this.series) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: this.bounds[i]!, [this.labelName]: labelValue }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.labelName]: labelValue }, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: labelValue }, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: labelValue }, value: series.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.series.clear();
  }
}

/** One label value's observations: per bucket (not cumulative), their sum and count. */
export class HistogramSeries {
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.buckets[i]!++;
    this.sum += value;
    this.count++;
  }
}
