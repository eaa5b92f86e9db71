/** The manager's Prometheus metrics and health checks (`taskwire serve --metrics`, docs/metrics.md). */
export { ManagerMetrics, METRIC_PREFIX, type MetricsSource, type StoreKind } from './managerMetrics';
export { MetricsServer } from './metricsServer';
