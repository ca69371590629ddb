// realtime-js 2.x resuming after reconnects, with the lines docs/from-supabase-realtime.md gives (marked "resume").
// usage: node resume-listen.js URL TABLE [RESUME_FROM]   env: APIKEY
// Prints SUBSCRIBED at each (re)join, SYSTEM <payload> for system messages, then every 500 ms
// "COUNT <inserts> JOINS <joins> RESETS <resets>"; on the stdin line DUMP it prints
// "IDS <json list of new.id of the inserts, in arrival order>" and "LAST <the kept id>", and exits.
const readline = require('readline');
const { RealtimeClient } = require('rt2');
const [url, table, resumeFrom] = process.argv.slice(2);
const client = new RealtimeClient(url, {
  params: { apikey: process.env.APIKEY || 'no-key' },
  transport: require('ws'),
  heartbeatIntervalMs: 1000,
  reconnectAfterMs: () => 200,
});
const ids = [];
let joins = 0;
let resets = 0;

const resume = {};                                                     // resume: sent at every (re)join
if (resumeFrom) resume.resume_from = resumeFrom;
client.channel('todos', { config: { postgres_changes_options: resume } }) // resume
  .on('postgres_changes', { event: '*', schema: 'public', table }, (payload, id) => {
    resume.resume_from = id;                                           // resume: keep the last id
    if (payload.eventType === 'INSERT') ids.push(payload.new.id);
  })
  .on('system', {}, (message) => {
    console.log('SYSTEM ' + JSON.stringify(message));
    if (message.status === 'reset') {                                  // resume: too old to resume from
      resets++;                                                        // (an app refetches here)
      resume.resume_from = message.id;                                 // resume
    }
  })
  .subscribe((status, err) => {
    if (status === 'SUBSCRIBED') joins++;
    console.log(status + (err ? ' ' + (err.message || err) : ''));
  });

const timer = setInterval(() => console.log('COUNT ' + ids.length + ' JOINS ' + joins + ' RESETS ' + resets), 500);
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'DUMP') {
    clearInterval(timer);
    console.log('IDS ' + JSON.stringify(ids));
    console.log('LAST ' + resume.resume_from);
    process.exit(0);
  }
});
lines.on('close', () => process.exit(0));
