// Apart from heartbeat.ts, so that `taskwire serve --help` can show it without loading ioredis.

/** Seconds a manager's heartbeat lives without a refresh (--heartbeat-ttl). */
export const DEFAULT_HEARTBEAT_TTL = 5;
