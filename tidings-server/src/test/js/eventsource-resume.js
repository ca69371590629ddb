// A browser's own EventSource against `tidings serve`, in headless Chromium (through playwright-core).
// Usage: node eventsource-resume.js ORIGIN QUERY
// Opens ORIGIN/health, then in that page `new EventSource(ORIGIN/events?QUERY)`; the browser reconnects by
// itself after a drop, sending Last-Event-ID. Prints READY on the first open, then every 500 ms
// "COUNT <inserts> OPENS <opens> RESETS <resets>". On the stdin line DUMP it prints "IDS <json list of
// record.id of the insert events, in arrival order>" and exits.
const { chromium } = require("playwright-core");
const readline = require("readline");

const [origin, query] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  await page.goto(origin + "/health");
  await page.evaluate((url) => {
    window.ids = [];
    window.opens = 0;
    window.resets = 0;
    const source = new EventSource(url);
    source.onopen = () => { window.opens++; };
    source.addEventListener("insert", (e) => { window.ids.push(JSON.parse(e.data).record.id); });
    source.addEventListener("reset", () => { window.resets++; });
  }, origin + "/events?" + query);
  await page.waitForFunction(() => window.opens > 0, null, { timeout: 20000 });
  console.log("READY");
  const timer = setInterval(async () => {
    try {
      const s = await page.evaluate(() => [window.ids.length, window.opens, window.resets]);
      console.log("COUNT " + s[0] + " OPENS " + s[1] + " RESETS " + s[2]);
    } catch (e) {
      // the page is closing
    }
  }, 500);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", async (line) => {
    if (line === "DUMP") {
      clearInterval(timer);
      console.log("IDS " + JSON.stringify(await page.evaluate(() => window.ids)));
      await browser.close();
      process.exit(0);
    }
  });
  lines.on("close", async () => { await browser.close(); process.exit(3); });
})().catch((e) => { console.log("FAILED " + e.message); process.exit(2); });
