// Runs walkthrough.js (the classic realtime-js 0.x example, verbatim) and exits when the test that started it closes
// stdin, so no client outlives its test. DATA UPDATE lines are printed as JSON for the test to read.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
const log = console.log;
console.log = (...args) => log(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
require('./walkthrough.js');
