// The live feed: GET /v1/live as server-sent events, one snapshot a second (the bodies
// of /v1/overview, /v1/routes and /v1/agents). EventSource reconnects by itself after a
// dropped connection; if the collector refuses the stream (its client cap), the page
// polls the same three reads once a second and tries the stream again later.
// While the tab is hidden the stream is closed.
import { get } from './api.js';
/** @import { AgentsJson, Overview, RoutesJson, Snapshot } from './api-types.js' */

/** @typedef {'live' | 'reconnecting' | 'polling' | 'offline' | 'paused'} LiveState */

const POLL_MS = 1000;
const RETRY_STREAM_MS = 15_000;

/**
 * @param {(snapshot: Snapshot) => void} onSnapshot
 * @param {(state: LiveState) => void} onState
 * @returns {() => void} Closes the feed.
 */
export function connectLive(onSnapshot, onState) {
  /** @type {EventSource | null} */
  let source = null;
  let pollTimer = 0;
  let polling = false;

  async function pollOnce() {
    try {
      const reads = await Promise.all([get('/v1/overview'), get('/v1/routes'), get('/v1/agents')]);
      const [overview, routes, agents] = /** @type {[Overview, RoutesJson, AgentsJson]} */ (reads);
      onState('polling');
      onSnapshot({ time: Date.now(), overview, routes, agents });
    } catch {
      onState('offline');
    }
  }

  /** @param {number} untilMs */
  function poll(untilMs) {
    polling = true;
    const step = async () => {
      await pollOnce();
      if (Date.now() < untilMs) pollTimer = setTimeout(step, POLL_MS);
      else {
        polling = false;
        open();
      }
    };
    step();
  }

  function open() {
    const s = new EventSource('/v1/live');
    source = s;
    s.addEventListener('open', () => onState('live'));
    s.addEventListener('snapshot', (event) => {
      onState('live');
      onSnapshot(JSON.parse(event.data));
    });
    s.addEventListener('error', () => {
      if (s.readyState === EventSource.CLOSED) {
        // Refused (not a dropped connection, which EventSource retries itself).
        source = null;
        if (!polling) poll(Date.now() + RETRY_STREAM_MS);
      } else {
        onState('reconnecting');
      }
    });
  }

  // A hidden tab needs no updates: it gives its place in the feed back, and takes a
  // fresh snapshot when shown again.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      source?.close();
      source = null;
      onState('paused');
    } else if (source === null && !polling) {
      open();
    }
  });

  open();
  return () => {
    source?.close();
    clearTimeout(pollTimer);
  };
}
