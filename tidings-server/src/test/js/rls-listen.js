// realtime-js 2.x postgres_changes as one user, who may become another: for the RLS tests.
// usage: node rls-listen.js URL TABLE   env: ACCESS_TOKEN (the user's JWT)
// stdin: "TOKEN <jwt>" hands the client a new token (client.setAuth), as an app does when its user changes.
// prints: SUBSCRIBED | CHANNEL_ERROR <reason> | CLOSED | SYSTEM <payload> | CHANGE <payload json> | AUTH <token's sub>
const readline = require('readline');
const { RealtimeClient } = require('rt2');
const [url, table] = process.argv.slice(2);
const client = new RealtimeClient(url, {
  params: { apikey: process.env.ACCESS_TOKEN },
  transport: require('ws'),
  heartbeatIntervalMs: 1000,
});
client.setAuth(process.env.ACCESS_TOKEN);
client.channel('rls')
  .on('postgres_changes', { event: '*', schema: 'public', table }, (p) => console.log('CHANGE ' + JSON.stringify(p)))
  .on('system', {}, (p) => console.log('SYSTEM ' + JSON.stringify(p)))
  .subscribe((status, err) => console.log(status + (err ? ' ' + (err.message || err) : '')));
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.startsWith('TOKEN ')) {
    const token = line.substring(6);
    await client.setAuth(token);
    console.log('AUTH ' + JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub);
  }
}).on('close', () => process.exit(0));
