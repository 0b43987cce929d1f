// The OpenTelemetry peer, loaded with `--import`: the Node tracer provider, the HTTP
// instrumentation and a BatchSpanProcessor (default queue and batch sizes) in front of
// an exporter that counts spans and drops them, so that nothing is retained or sent and
// what is measured is the SDK's own cost.
import { createRequire } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

let exported = 0;
let batches = 0;
const exporter = {
  export(spans, done) {
    exported += spans.length;
    batches++;
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
};

const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
// The instrumentation patches http when it is required; ES module imports of node:http
// share the same module object, so requiring it once here patches it for the service.
createRequire(import.meta.url)('node:http');

globalThis[Symbol.for('nodeflight.bench.otel')] = () => ({ exported, batches });
