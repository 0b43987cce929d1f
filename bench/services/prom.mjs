// The prom-client peer: a request-duration Histogram with the labels users give it
// (method, route, status code), timed in the handler and observed on res 'finish', as
// express-prom-bundle and most hand-written middleware do.
import client from 'prom-client';

export function withHistogram(handler, route) {
  const histogram = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  return {
    handler(req, res) {
      const end = histogram.startTimer();
      res.on('finish', () => end({ method: req.method, route, status_code: res.statusCode }));
      handler(req, res);
    },
    async observed() {
      const metric = await histogram.get();
      let n = 0;
      for (const v of metric.values) if (v.metricName === 'http_request_duration_seconds_count') n += v.value;
      return n;
    },
  };
}
