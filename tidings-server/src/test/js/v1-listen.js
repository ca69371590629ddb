// realtime-js 1.7.5: RealtimeClient + channel(topic).on(event).subscribe(), as its README shows.
// usage: node v1-listen.js URL TOPIC [EVENT]   env: APIKEY, USER_TOKEN
// prints: SUBSCRIBED | ERROR <reason> | CHANGE <payload json> | CLOSED
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
const { RealtimeClient } = require('rt1');
const [url, topic, event = '*'] = process.argv.slice(2);
const params = process.env.APIKEY ? { apikey: process.env.APIKEY } : {};
const client = new RealtimeClient(url, { params, heartbeatIntervalMs: 1000 });
client.connect();
const channel = client.channel(topic, process.env.USER_TOKEN ? { user_token: process.env.USER_TOKEN } : {});
channel.on(event, (payload) => console.log('CHANGE ' + JSON.stringify(payload)));
channel.onClose(() => console.log('CLOSED'));
channel.on('system', (p) => console.log('SYSTEM ' + JSON.stringify(p)));
channel.subscribe()
  .receive('ok', () => console.log('SUBSCRIBED'))
  .receive('error', (e) => console.log('ERROR ' + JSON.stringify(e)))
  .receive('timeout', () => console.log('TIMEOUT'));
