// The fan-out loads' browser-like clients (bin/bench e2e, loads q and r): N published realtime-js 2.x
// clients in one Node process, each a RealtimeClient of its own (its own WebSocket, its own 25 s
// heartbeat, as N browser tabs would have), each with one channel and one postgres_changes binding
// on public.bench; in the filtered mode client k (from 1) binds with filter id=eq.k.
//
// usage: node realtime-clients.js URL CLIENTS EXPECTED filtered|all
//   filtered: EXPECTED is the deliveries of all clients together; all: EXPECTED is per client.
// It speaks the coordinator's protocol (FanOutRun, the same lines as WebSocketClients):
//   @@ READY                      every channel is SUBSCRIBED
//   @@ DONE <deliveries> <first µs> <last µs>
//   @@ FANOUT <clients> <deliveries> <disconnected> <p50> <p95> <p99> <max>   (µs)
//   @@ FAIL <message>
// A line `report` on stdin reports what has arrived so far; the end of stdin ends the process.
// Latency is receive time − commit_timestamp (which has milliseconds only, so each sample is
// overstated by up to 1 ms), in a histogram of 0.1 ms buckets, as in WebSocketClients.
const { RealtimeClient } = require('@supabase/realtime-js');

const [url, clientsArg, expectedArg, mode] = process.argv.slice(2);
const clients = Number(clientsArg);
const expected = Number(expectedArg);
const filtered = mode === 'filtered';
if (!url || !(clients > 0) || !(expected > 0) || (mode !== 'filtered' && mode !== 'all')) {
  console.log('@@ FAIL usage: node realtime-clients.js URL CLIENTS EXPECTED filtered|all');
  process.exit(2);
}

const BUCKETS = 600000; // 0.1 ms each: up to 60 s
const histogram = new Float64Array(BUCKETS + 1);
let deliveries = 0;
let first = 0;
let last = 0;
let subscribed = 0;
let complete = 0;
let disconnected = 0;
let reported = false;
const received = new Array(clients).fill(0);

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

function rank(q) {
  const target = Math.max(1, Math.ceil(q * deliveries));
  let seen = 0;
  for (let i = 0; i <= BUCKETS; i++) {
    seen += histogram[i];
    if (seen >= target) return (i + 1) * 100;
  }
  return 0;
}

function report() {
  if (reported) return;
  reported = true;
  console.log(`@@ DONE ${deliveries} ${deliveries === 0 ? 0 : first} ${last}`);
  console.log(`@@ FANOUT ${clients} ${deliveries} ${disconnected} ${rank(0.5)} ${rank(0.95)} ${rank(0.99)} ${rank(1)}`);
}

function change(k, payload) {
  const now = nowMicros();
  const commit = Date.parse(payload.commit_timestamp) * 1000;
  histogram[Math.min(BUCKETS, Math.max(0, Math.floor((now - commit) / 100)))]++;
  deliveries++;
  if (first === 0) first = now;
  last = now;
  if (filtered ? deliveries === expected : ++received[k] === expected && ++complete === clients) report();
}

process.stdin.setEncoding('utf8');
let input = '';
process.stdin.on('data', (chunk) => {
  input += chunk;
  let nl;
  while ((nl = input.indexOf('\n')) >= 0) {
    const line = input.slice(0, nl).trim();
    input = input.slice(nl + 1);
    if (line === 'report') report();
  }
});
process.stdin.on('end', () => process.exit(0));

const started = performance.now();
for (let k = 0; k < clients; k++) {
  const client = new RealtimeClient(url, { params: { apikey: 'bench' }, transport: require('ws') });
  const binding = { event: '*', schema: 'public', table: 'bench' };
  if (filtered) binding.filter = `id=eq.${k + 1}`;
  let joined = false;
  client.channel('bench')
    .on('postgres_changes', binding, (payload) => change(k, payload))
    .subscribe((status, err) => {
      if (status === 'SUBSCRIBED' && !joined) {
        joined = true;
        if (++subscribed === clients) {
          console.error(`${clients} realtime-js clients connected and subscribed in ${((performance.now() - started) / 1000).toFixed(2)} s`);
          console.log('@@ READY');
        }
      } else if (status !== 'SUBSCRIBED') {
        if (!joined) {
          console.log(`@@ FAIL client ${k + 1}: ${status}${err ? ' ' + (err.message || err) : ''}`);
        } else {
          disconnected++;
          console.error(`client ${k + 1}: ${status}`);
        }
      }
    });
}

setInterval(() => console.error(`subscribed ${subscribed}, deliveries ${deliveries}, clients complete ${complete}, disconnected ${disconnected}`), 2000).unref();
