// pusher-js 8.6.0 on Node: subscribe to one channel on the ingest server and print one
// NDJSON line per event, shaped like chanwatch's `event` records:
//   {"ts":"...","type":"event","channel":"ch","event":"tick","data":{...}}
// Lines are gathered and written once per turn of the event loop (or per 64 KiB), the same
// buffering chanwatch does; a write per line would measure process.stdout, not pusher-js.
//
// usage: node ingest.js PORT [CHANNEL]
'use strict';
const Pusher = require('pusher-js');

const port = Number(process.argv[2]);
const channelName = process.argv[3] || 'ch';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node ingest.js PORT [CHANNEL]\n');
  process.exit(2);
}

let pending = [];
let pendingBytes = 0;
let scheduled = false;

function flush() {
  scheduled = false;
  if (pending.length === 0) return;
  const chunk = pending.join('');
  pending = [];
  pendingBytes = 0;
  // Pipes are synchronous for process.stdout on Linux, so this is backpressure too.
  process.stdout.write(chunk);
}

function print(line) {
  pending.push(line, '\n');
  pendingBytes += line.length + 1;
  if (pendingBytes >= 65536) {
    flush();
  } else if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

process.stdout.on('error', (e) => {
  // The reader stopped at `done` (EPIPE): that is the end of the run.
  if (e.code === 'EPIPE') process.exit(0);
  process.stderr.write(`stdout: ${e.code || ''} ${e.message}\n`);
  process.exit(1);
});

const pusher = new Pusher('k', {
  cluster: 'mt1',
  wsHost: '127.0.0.1',
  wsPort: port,
  forceTLS: false,
  enabledTransports: ['ws'],
  disableStats: true,
});
pusher.connection.bind('error', (err) => {
  process.stderr.write(`pusher-js error: ${JSON.stringify(err)}\n`);
});
const channel = pusher.subscribe(channelName);
channel.bind_global((event, data) => {
  if (event.startsWith('pusher:')) return; // subscription_succeeded and friends
  print(JSON.stringify({
    ts: new Date().toISOString(),
    type: 'event',
    channel: channelName,
    event,
    data,
  }));
});
