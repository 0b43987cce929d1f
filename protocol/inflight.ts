// Requests open now: the agent's snapshot of the oldest requests that started and have
// not finished, read from its in-flight table off the request path (on the flush timer,
// for a dump, at exit). It travels as the optional `inflight` field of a batch (an older
// collector ignores it) and of a dump's last block, and is written to recordings as an
// `inflight` record (InflightSnapshot in messages.ts). Rows are EventColumns flagged
// EventFlag.inflight: `duration` is the request's age at `time`, `status` 0 (no response
// yet), `size` -1.

/** At most this many open requests per snapshot, the oldest; `open` says how many there were. */
export const INFLIGHT_LIMIT = 100;
/**
 * How often a connected agent sends its snapshot (when anything is open, or was at the
 * last one): every flush at the default NODEFLIGHT_FLUSH_MS, so that a request that ended
 * is listed for at most about this long.
 */
export const INFLIGHT_PERIOD_MS = 250;
