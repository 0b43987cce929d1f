// The collector: WebSocket ingest, per-route aggregation, REST API and /metrics on one
// HTTP server. `nodeflight collector` runs it from the command line (cli/collector-cli.ts).
//
//   agents --ws /v1/ingest--> ingest --> aggregator (routes, recent events) --> api, metrics
//                                \--> agent registry ------------------------/
//                                 <--> control (settings, recordings) <-------- control-api
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { AgentRegistry } from './ingest/agents.js';
import { Aggregator } from './stats/aggregator.js';
import { createApi } from './api/handler.js';
import { createTokenCheck } from './http/auth.js';
import { resolveConfig, type ConfigOptions } from './config.js';
import { Control } from './control/control.js';
import { createControlApi } from './api/control-api.js';
import { initHistograms } from './stats/histogram.js';
import { createHostCheck } from './http/host-check.js';
import { attachIngest } from './ingest/ingest.js';
import { Recordings } from './control/recordings.js';
import { rawErrorResponse } from './http/respond.js';
import { SettingsStore } from './control/settings-store.js';
import { SeriesStore } from './stats/series-store.js';
import { GoneAgents } from './ingest/gone-agents.js';
import { InflightStore } from './stats/inflight-store.js';

export { ConfigError } from './config.js';

export interface CollectorOptions extends ConfigOptions {
  /** Wall-clock milliseconds since the epoch; tests inject one to drive intervals, rates and the expiry of recordings. */
  clock?: () => number;
}

export interface Collector {
  /** `http://host:port` (`https://` with TLS), with the real port when 0 was asked for. */
  url: string;
  host: string;
  port: number;
  dataDir: string | undefined;
  /** Closes agent connections (code 1001), stops listening, frees the histograms. */
  close(): Promise<void>;
}

/**
 * Starts a collector. Options fall back to NODEFLIGHT_COLLECTOR_HOST, _PORT, _TOKEN and
 * _DATA_DIR, then to 127.0.0.1:8081. Throws a ConfigError for a bad value, and for a
 * non-loopback host without a token.
 */
export async function startCollector(opts: CollectorOptions = {}): Promise<Collector> {
  const config = resolveConfig(opts, process.env);
  await initHistograms();
  const clock = opts.clock ?? Date.now;
  if (config.dataDir !== undefined) await mkdir(config.dataDir, { recursive: true });
  const store = await SettingsStore.open(config.dataDir, config.maxAgents);
  const recordings = new Recordings({
    dataDir: config.dataDir, timeoutMs: config.recordingTimeoutMs, storeMs: config.recordingStoreMs,
    maxMs: config.recordingMaxMs,
    agentMaxBytes: config.recordingAgentMaxBytes, maxBytes: config.recordingMaxBytes, clock,
  });
  await recordings.sweep();
  const agents = new AgentRegistry(config.maxAgents);
  const aggregator = new Aggregator(config.maxRoutes, config.maxRecentEvents, config.maxServices);
  const series = new SeriesStore(config.maxAgents, config.maxRoutes, config.maxServices);
  const checkToken = createTokenCheck(config.token);
  const checkHost = createHostCheck(config.host, config.allowedHosts);
  const inflight = new InflightStore();
  // What is kept beside the registry goes when it forgets an agent; it forgets gone agents past the retention.
  agents.onForget = (id) => {
    series.forget(id);
    inflight.forget(id);
  };
  const gone = new GoneAgents({
    retentionMs: config.goneAgentMs, max: config.maxGoneAgents, forget: (id) => agents.forget(id),
  });

  const server: Server = config.tls === undefined ? createServer() : createTlsServer(config.tls);
  const control = new Control(agents, store, recordings);
  const ingest = attachIngest(server, {
    agents, aggregator, checkToken, checkHost, clock, control, series, inflight, gone, heartbeatMs: config.heartbeatMs,
    pendingMaxBytes: config.ingestPendingMaxBytes,
  });
  control.attach((agent, message) => ingest.send(agent, message));
  server.on('request', createApi({
    agents, aggregator, ingest, checkToken, checkHost, clock, startedAt: clock(), control: createControlApi(control),
    series, inflight, gone,
  }));
  server.on('clientError', onClientError);
  try {
    await listen(server, config.port, config.host);
  } catch (err) {
    aggregator.destroy();
    series.destroy();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const urlHost = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;

  let closing: Promise<void> | undefined;
  return {
    url: `${config.tls === undefined ? 'http' : 'https'}://${urlHost}:${port}`,
    host: config.host,
    port,
    dataDir: config.dataDir,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Dumps under way fail as "shut down" before their agents' connections close.
        const recorded = recordings.close();
        await ingest.close();
        server.closeAllConnections();
        await stopped;
        await recorded;
        aggregator.destroy();
        series.destroy();
      })();
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Requests Node cannot parse get a JSON error too, not a bare 400. */
function onClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const response = err.code === 'HPE_HEADER_OVERFLOW'
    ? rawErrorResponse(431, 'request headers are too large')
    : rawErrorResponse(400, `malformed HTTP request: ${err.message}`);
  socket.end(response);
}
