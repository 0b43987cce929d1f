// `node --require nodeflight/agent app.js` for CommonJS applications. Node 20.19+,
// 22.12+ and 24 load the ES-module agent synchronously here, so it subscribes before
// the application starts. Older lines fall back to import(), which subscribes a few
// milliseconds later: requests served before then are not recorded.
try {
  require('../dist/agent/index.js');
} catch (err) {
  if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    import('../dist/agent/index.js').catch(report);
  } else {
    report(err);
  }
}

function report(err) {
  try {
    process.stderr.write(`[nodeflight] the agent could not start and is off; the application is unaffected: ${err?.message}\n`);
  } catch {}
}
