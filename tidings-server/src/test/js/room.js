// realtime-js 2.x Broadcast and Presence on one channel, driven by JSON commands on stdin.
// usage: node room.js URL TOPIC   env: APIKEY, ACCESS_TOKEN (the user's JWT, client.setAuth), VSN, SELF=1, ACK=1,
//                                   KEY (presence key), PRESENCE=1, PRIVATE=1
// stdin, one JSON object a line:
//   {"send": EVENT, "payload": {...}}       channel.send (binary frame on vsn 2.0.0) -> SENT <status>
//   {"sendBinary": EVENT, "hex": "0aff"}     the same with an ArrayBuffer payload      -> SENT <status>
//   {"burst": N, "event": EVENT}             N sends of {"i": 0..N-1}, in order        -> BURST <statuses>
//   {"http": EVENT, "payload": {...}}        channel.httpSend                          -> HTTP ok | HTTP error <message>
//   {"track": {...}}  {"untrack": true}      presence                                   -> TRACK|UNTRACK <status>
//   {"token": JWT}                           client.setAuth (access_token on the channel) -> AUTH <token's sub>
// prints: SUBSCRIBED | CHANNEL_ERROR <reason> | CLOSED | SYSTEM <payload> | BROADCAST <json> |
//         SYNC <presenceState json> | JOIN <key> | LEAVE <key>
const readline = require('readline');
const { RealtimeClient } = require('rt2');
const [url, topic] = process.argv.slice(2);
const env = process.env;
const client = new RealtimeClient(url, {
  params: { apikey: env.APIKEY || 'no-key' },
  ...(env.VSN ? { vsn: env.VSN } : {}),
  transport: require('ws'),
  heartbeatIntervalMs: 1000,
});
if (env.ACCESS_TOKEN) client.setAuth(env.ACCESS_TOKEN);
const out = (line) => process.stdout.write(line + '\n');
const hex = (buf) => Buffer.from(buf).toString('hex');
const channel = client.channel(topic, {
  config: {
    broadcast: { self: env.SELF === '1', ack: env.ACK === '1' },
    presence: { key: env.KEY || '' },
    private: env.PRIVATE === '1',
  },
});
channel.on('broadcast', { event: '*' }, (m) => {
  const shown = { event: m.event, payload: m.payload };
  if (m.payload instanceof ArrayBuffer) shown.payload = { hex: hex(m.payload) };
  if (m.meta) shown.meta = m.meta;
  out('BROADCAST ' + JSON.stringify(shown));
});
channel.on('system', {}, (p) => out('SYSTEM ' + JSON.stringify(p)));
if (env.PRESENCE === '1') {
  channel.on('presence', { event: 'sync' }, () => out('SYNC ' + JSON.stringify(channel.presenceState())));
  channel.on('presence', { event: 'join' }, ({ key }) => out('JOIN ' + key));
  channel.on('presence', { event: 'leave' }, ({ key }) => out('LEAVE ' + key));
}
channel.subscribe((status, err) => out(status + (err ? ' ' + (err.message || err) : '')));

async function run(cmd) {
  if (cmd.send !== undefined) {
    out('SENT ' + await channel.send({ type: 'broadcast', event: cmd.send, payload: cmd.payload }));
  } else if (cmd.sendBinary !== undefined) {
    const bytes = Buffer.from(cmd.hex, 'hex');
    const payload = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    out('SENT ' + await channel.send({ type: 'broadcast', event: cmd.sendBinary, payload }));
  } else if (cmd.burst !== undefined) {
    const sends = [];
    for (let i = 0; i < cmd.burst; i++) sends.push(channel.send({ type: 'broadcast', event: cmd.event, payload: { i } }));
    const statuses = await Promise.all(sends);
    out('BURST ' + [...new Set(statuses)].join(','));
  } else if (cmd.http !== undefined) {
    try {
      await channel.httpSend(cmd.http, cmd.payload);
      out('HTTP ok');
    } catch (e) {
      out('HTTP error ' + e.message);
    }
  } else if (cmd.track !== undefined) {
    out('TRACK ' + await channel.track(cmd.track));
  } else if (cmd.untrack !== undefined) {
    out('UNTRACK ' + await channel.untrack());
  } else if (cmd.token !== undefined) {
    await client.setAuth(cmd.token);
    out('AUTH ' + JSON.parse(Buffer.from(cmd.token.split('.')[1], 'base64url')).sub);
  }
}
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim()) run(JSON.parse(line)).catch((e) => out('FAILED ' + e.message));
}).on('close', () => process.exit(0));
