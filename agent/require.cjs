// `node --require nodeflight/agent app.js` for CommonJS applications. The agent is an
// ES module; loading it asynchronously is safe because nothing is recorded before the
// application's server accepts its first request, which is later than this import.
import('../dist/agent/index.js').catch((err) => {
  try {
    process.stderr.write(`[nodeflight] the agent could not start and is off; the application is unaffected: ${err && err.message}\n`);
  } catch {}
});
