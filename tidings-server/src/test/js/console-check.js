// Drives the web console in headless Chromium (Debian's /usr/bin/chromium, through playwright-core).
// Usage: node console-check.js URL SCREENSHOT EXPECTED_TEXT
// Prints READY once the page shows its event stream is live, then waits (at most 30 s) for an
// event whose line contains EXPECTED_TEXT, clicks it open, prints SEEN and the panels' texts as
// JSON, saves a screenshot and exits. Closing stdin ends it early.
const { chromium } = require("playwright-core");

const [url, screenshot, expected] = process.argv.slice(2);
process.stdin.on("end", () => process.exit(3));
process.stdin.resume();

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const failures = [];
    page.on("pageerror", (e) => failures.push(String(e)));
    page.on("console", (m) => console.log("CONSOLE " + m.text()));
    page.on("requestfailed", (r) => { if (!r.url().includes("/events")) failures.push("request failed: " + r.url()); });
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("stream-state").textContent === "live", null, { timeout: 20000 });
    console.log("READY");
    const item = page.locator("#events li", { hasText: expected }).first();
    try {
      await item.waitFor({ timeout: 30000 });
    } catch (e) {
      const state = await page.evaluate(() => document.getElementById("stream-state").textContent + " / seen "
          + document.getElementById("events-seen").textContent + " / " + document.getElementById("events").textContent);
      throw new Error(e.message + " (page: " + state + ")");
    }
    await item.click();
    await page.waitForTimeout(2500); // one status poll and a chart tick
    // The lag is known once the server's lag check has seen the slot (it may not exist at the first check).
    await page.waitForFunction(() => document.getElementById("slot-lag").textContent.includes(" B"), null,
        { timeout: 20000 }).catch(() => {});
    const panels = await page.evaluate(() => ({
      json: document.querySelector("#events li pre") ? document.querySelector("#events li pre").textContent : null,
      slot: document.getElementById("slot-name").textContent,
      lsn: document.getElementById("slot-lsn").textContent,
      lag: document.getElementById("slot-lag").textContent,
      websocket: document.getElementById("clients-ws").textContent,
      sse: document.getElementById("clients-sse").textContent,
      legend: document.getElementById("legend").textContent,
      sinks: Array.from(document.querySelectorAll("#sinks tbody tr")).map((tr) => tr.textContent),
      external: performance.getEntriesByType("resource").map((r) => r.name).filter((n) => !n.startsWith(location.origin)),
      failures: [],
    }));
    panels.failures = failures;
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log("SEEN " + JSON.stringify(panels));
  } finally {
    await browser.close();
  }
  process.exit(0);
})().catch((e) => { console.log("FAILED " + e.message); process.exit(2); });
