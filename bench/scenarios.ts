// What the macro benchmark runs: the services (one script each under bench/services/)
// and the variants of each, with the check that proves a variant's instrumentation is
// live before it is timed. A check throws: broken wiring fails the run loudly instead
// of measuring an empty publish.
import { benchSource } from './processes.js';

export interface ServiceSpec {
  script: string;
  describe: string;
  /** Request paths the load generator cycles through. */
  paths: string[];
}

const productPaths = Array.from({ length: 64 }, (_, i) => `/api/products/${1000 + i}?fields=all&limit=12`);

export const services: Record<string, ServiceSpec> = {
  hello: { script: 'hello.mjs', describe: 'node:http hello world (11-byte text body)', paths: ['/'] },
  realistic: { script: 'realistic.mjs', describe: 'node:http route: new URL() + query, ~1 KB JSON built per request', paths: productPaths },
  express: { script: 'express.mjs', describe: 'Express 5, mounted router, /api/products/:id, ~1 KB JSON', paths: productPaths },
};

/** Counters a service reports for the instrumentation it carries. */
export interface Instrumentation {
  nodeflight?: { recorded: number; filtered: number; dropped: number; sent: number; buffered: number; hookErrors: number; off?: boolean };
  otel?: { exported: number; batches: number };
  prom?: { observed: number };
  /** bench:instructions peers (bench/services/naive-recorder.mjs, empty-subscribers.mjs). */
  naive?: { recorded: number };
  empty?: { start: boolean; finish: boolean };
}

export type InstrumentationKind = 'bare' | 'nodeflight' | 'otel' | 'prom' | 'naive' | 'empty';

export interface VariantSpec {
  describe: string;
  execArgv: string[];
  env: Record<string, string>;
  needsCollector: boolean;
  /** Which instrumentation must be present and counting; null for the bare service. */
  kind: InstrumentationKind;
}

export const variants: Record<string, VariantSpec> = {
  bare: { describe: 'no instrumentation', execArgv: [], env: {}, needsCollector: false, kind: 'bare' },
  'bare-aa': {
    describe: 'a second bare process, the A/A control: its distance from 1.000× is the noise floor of the run',
    execArgv: [], env: {}, needsCollector: false, kind: 'bare',
  },
  nodeflight: {
    describe: 'agent via --import nodeflight/agent, recording in-process only',
    execArgv: ['--import', 'nodeflight/agent'], env: {}, needsCollector: false, kind: 'nodeflight',
  },
  'nodeflight+collector': {
    describe: 'the same agent streaming to a live collector (separate process, 127.0.0.1)',
    execArgv: ['--import', 'nodeflight/agent'], env: {}, needsCollector: true, kind: 'nodeflight',
  },
  otel: {
    describe: 'OpenTelemetry NodeTracerProvider + HttpInstrumentation, BatchSpanProcessor, counting no-op exporter',
    execArgv: ['--import', benchSource('services/otel-preload.mjs')], env: {}, needsCollector: false, kind: 'otel',
  },
  'prom-client': {
    describe: 'prom-client Histogram (method, route, status) timed in the handler, observed on res finish',
    execArgv: [], env: { BENCH_PROM: '1' }, needsCollector: false, kind: 'prom',
  },
};

/**
 * Throws unless the variant's instrumentation saw the `served` requests completed since
 * `before` (or, for OpenTelemetry whose batch processor may drop spans under load, at
 * least exported some of them). The bare service must carry no instrumentation at all.
 */
export function checkInstrumentation(variant: string, before: Instrumentation | null, after: Instrumentation, served: number): void {
  checkKind(variants[variant]!.kind, `variant ${variant}`, before, after, served);
}

/** checkInstrumentation for a kind of instrumentation; `label` names the process in the error. */
export function checkKind(
  kind: InstrumentationKind, label: string, before: Instrumentation | null, after: Instrumentation, served: number,
): void {
  const fail = (why: string): never => {
    throw new Error(`${label}: instrumentation is not live: ${why} (counters ${JSON.stringify(after)})`);
  };
  const present = Object.keys(after).sort().join(',');
  const expected = kind === 'bare' ? '' : kind;
  if (present !== expected) fail(`expected instrumentation [${expected}], found [${present}]`);
  // Every request the client saw completed was finished by the server first.
  const atLeast = Math.floor(served * 0.99);
  if (kind === 'nodeflight') {
    const a = after.nodeflight!;
    if (a.off) fail('the agent is off (it failed to start or NODEFLIGHT_DISABLED is set)');
    if (a.hookErrors > 0) fail(`${a.hookErrors} hook errors`);
    const seen = a.recorded + a.filtered - ((before?.nodeflight?.recorded ?? 0) + (before?.nodeflight?.filtered ?? 0));
    if (seen < atLeast) fail(`recorded ${seen} events for ${served} requests`);
  } else if (kind === 'prom') {
    const seen = after.prom!.observed - (before?.prom?.observed ?? 0);
    if (seen < atLeast) fail(`observed ${seen} requests of ${served}`);
  } else if (kind === 'otel') {
    const seen = after.otel!.exported - (before?.otel?.exported ?? 0);
    if (seen <= 0) fail(`no span exported for ${served} requests`);
  } else if (kind === 'naive') {
    const seen = after.naive!.recorded - (before?.naive?.recorded ?? 0);
    if (seen < atLeast) fail(`recorded ${seen} requests of ${served}`);
  } else if (kind === 'empty') {
    if (!after.empty!.start || !after.empty!.finish) fail('a channel has no subscriber');
  }
}
