// realtime-js 2.x: channel(name).on('postgres_changes', {event, schema, table, filter}, cb).subscribe(cb).
// usage: node v2-listen.js URL EVENT SCHEMA [TABLE|-] [FILTER|-]   env: APIKEY, ACCESS_TOKEN, VSN
// prints: SUBSCRIBED | CHANNEL_ERROR <reason> | CLOSED | SYSTEM <payload> | CHANGE <payload json>
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
const { RealtimeClient } = require('rt2');
const [url, event, schema, table, filter] = process.argv.slice(2);
const client = new RealtimeClient(url, {
  params: { apikey: process.env.APIKEY || 'no-key' },
  ...(process.env.VSN ? { vsn: process.env.VSN } : {}),
  transport: require('ws'),
  heartbeatIntervalMs: 1000,
});
if (process.env.ACCESS_TOKEN) client.setAuth(process.env.ACCESS_TOKEN);
const binding = { event, schema };
if (table && table !== '-') binding.table = table;
if (filter && filter !== '-') binding.filter = filter;
client.channel('any')
  .on('postgres_changes', binding, (p) => console.log('CHANGE ' + JSON.stringify(p)))
  .on('system', {}, (p) => console.log('SYSTEM ' + JSON.stringify(p)))
  .subscribe((status, err) => console.log(status + (err ? ' ' + (err.message || err) : '')));
