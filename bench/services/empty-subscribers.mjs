// The floor under any recorder, loaded with `--import` (bench:instructions): subscribers
// that do nothing on the two server channels the agent listens to, through dc-polyfill
// as the agent does, so that what publishing them makes Node do is counted apart.
import dc from 'dc-polyfill';

// Held for the life of the process: a channel nobody references may be collected.
const start = dc.channel('http.server.request.start');
const finish = dc.channel('http.server.response.finish');
start.subscribe(() => {});
finish.subscribe(() => {});

globalThis[Symbol.for('nodeflight.bench.empty')] = () => ({ start: start.hasSubscribers, finish: finish.hasSubscribers });
