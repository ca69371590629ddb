// Tidings console: a read-only live view. Events come from the server's own SSE endpoint
// (/events), the state of the slot, clients and sinks from /api/status. No external assets.
(function () {
  "use strict";
  const MAX_EVENTS = 500;
  const WINDOW_S = 60;
  const COLORS = ["#3b5bdb", "#1a7f37", "#cf222e", "#9a6700", "#8250df", "#0a7ea4", "#bf3989", "#57606a"];
  const $ = (id) => document.getElementById(id);

  let token = sessionStorage.getItem("tidings.token") || "";
  let source = null;
  const events = [];            // newest last
  const perSecond = new Map();  // table -> Map(second -> count)
  let seen = 0;

  function authHeaders() {
    return token ? { Authorization: "Bearer " + token } : {};
  }

  function setState(text, cls) {
    const el = $("stream-state");
    el.textContent = text;
    el.className = "pill " + (cls || "");
  }

  function askForToken(reason) {
    $("token-form").hidden = false;
    setState(reason, "bad");
  }

  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("tidings.token", token);
    $("token-form").hidden = true;
    connect();
    poll();
  });

  function connect() {
    if (source) source.close();
    const url = "/events?format=tidings" + (token ? "&apikey=" + encodeURIComponent(token) : "");
    source = new EventSource(url);
    source.onopen = () => setState("live", "ok");
    for (const op of ["insert", "update", "delete", "truncate", "message"]) {
      source.addEventListener(op, (e) => receive(JSON.parse(e.data)));
    }
    source.addEventListener("error", (e) => {
      if (e.data) {
        setState("stream error: " + e.data, "bad");
      } else if (source.readyState === EventSource.CLOSED) {
        askForToken("events refused: a token is needed");
      } else {
        setState("reconnecting…", "bad");
      }
    });
  }

  function receive(event) {
    seen++;
    $("events-seen").textContent = String(seen);
    const name = event.schema ? event.schema + "." + event.table : "message:" + event.table;
    const second = Math.floor(Date.now() / 1000);
    if (!perSecond.has(name)) perSecond.set(name, new Map());
    const counts = perSecond.get(name);
    counts.set(second, (counts.get(second) || 0) + 1);
    events.push(event);
    if (events.length > MAX_EVENTS) events.shift();
    if (!$("f-pause").checked && matches(event)) {
      const list = $("events");
      list.insertBefore(render(event), list.firstChild);
      while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
    }
  }

  function matches(event) {
    const schema = $("f-schema").value.trim();
    const table = $("f-table").value.trim();
    const op = $("f-op").value;
    return (!schema || event.schema === schema) && (!table || event.table === table) && (!op || event.op === op);
  }

  function render(event) {
    const li = document.createElement("li");
    li.dataset.id = event.id;
    li.dataset.table = event.schema + "." + event.table;
    const time = event.tx && event.tx.commit_time ? event.tx.commit_time.substring(11, 23) : "";
    const row = event.record || event.old_record || (event.message ? { prefix: event.message.prefix } : null);
    let preview = row ? JSON.stringify(row) : "";
    if (preview.length > 160) preview = preview.substring(0, 157) + "…";
    const op = document.createElement("span");
    op.className = "op op-" + event.op;
    op.textContent = event.op;
    const where = document.createElement("b");
    where.textContent = (event.schema ? event.schema + "." : "") + event.table;
    li.append(time + " ", op, where, " " + preview);
    li.addEventListener("click", () => {
      const open = li.querySelector("pre");
      if (open) { open.remove(); return; }
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(event, null, 2);
      li.appendChild(pre);
    });
    return li;
  }

  function refilter() {
    const list = $("events");
    list.textContent = "";
    for (let i = events.length - 1; i >= 0; i--) {
      if (matches(events[i])) list.appendChild(render(events[i]));
    }
  }
  for (const id of ["f-schema", "f-table", "f-op", "f-pause"]) {
    $(id).addEventListener("input", refilter);
  }

  function drawChart() {
    const canvas = $("chart");
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, pad = 24;
    const now = Math.floor(Date.now() / 1000);
    ctx.clearRect(0, 0, w, h);
    let max = 1;
    for (const counts of perSecond.values()) {
      for (const [s, n] of counts) {
        if (s <= now - WINDOW_S - 1) counts.delete(s); else if (n > max) max = n;
      }
    }
    ctx.strokeStyle = "#e1e4ea";
    ctx.fillStyle = "#6b7385";
    ctx.font = "11px system-ui";
    ctx.beginPath(); ctx.moveTo(pad, h - pad); ctx.lineTo(w, h - pad); ctx.stroke();
    ctx.fillText(String(max) + "/s", 0, 12);
    ctx.fillText("-60 s", pad, h - 6);
    ctx.fillText("now", w - 24, h - 6);
    const legend = $("legend");
    legend.textContent = "";
    let i = 0;
    for (const [table, counts] of perSecond) {
      const color = COLORS[i++ % COLORS.length];
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let k = 0; k <= WINDOW_S; k++) {
        const s = now - WINDOW_S + k;
        const x = pad + (w - pad) * k / WINDOW_S;
        const y = (h - pad) - (h - pad - 16) * (counts.get(s) || 0) / max;
        if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      }
      ctx.stroke();
      const item = document.createElement("li");
      const swatch = document.createElement("i");
      swatch.style.background = color;
      let total = 0;
      for (const n of counts.values()) total += n;
      const last = counts.get(now - 1) || 0;
      item.append(swatch, table + ": " + last + "/s now, " + total + " in 60 s");
      legend.appendChild(item);
    }
  }

  function bytes(n) {
    if (n == null) return "–";
    const units = ["B", "kB", "MB", "GB", "TB"];
    let u = 0;
    while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
    return (u === 0 ? n : n.toFixed(1)) + " " + units[u];
  }

  function showStatus(s) {
    const slot = s.slot || {};
    const leader = s.leader;
    $("role").textContent = (s.role || "–") + (leader ? " — leader: PID " + leader.backend_pid
        + (leader.client_address ? " from " + leader.client_address : "") : "");
    $("slot-name").textContent = (slot.name || "–") + (slot.temporary ? " (temporary)" : "")
        + (slot.streaming ? "" : " — not streaming");
    $("slot-lsn").textContent = slot.confirmed_lsn || "–";
    $("slot-lag").textContent = bytes(slot.lag_bytes) + " · " + (slot.lag_seconds == null ? "–" : slot.lag_seconds.toFixed(1) + " s");
    const c = s.catch_up;
    $("slot-catchup").textContent = c ? bytes(c.behind_bytes) + " behind at " + bytes(c.rate_bytes_per_s) + "/s, ~"
        + Math.round(c.eta_seconds) + " s to go" : "caught up";
    $("clients-ws").textContent = String((s.clients || {}).websocket ?? "–");
    $("clients-sse").textContent = String((s.clients || {}).sse ?? "–");
    const body = $("sinks").tBodies[0];
    body.textContent = "";
    const sinks = s.sinks || [];
    if (sinks.length === 0) {
      const tr = body.insertRow();
      const td = tr.insertCell();
      td.colSpan = 8; td.className = "muted"; td.textContent = "no durable sinks";
    }
    for (const k of sinks) {
      const tr = body.insertRow();
      tr.dataset.sink = k.name;
      for (const v of [k.name, k.type, k.state, k.delivered, k.retried, k.failed, k.in_flight, k.last_error || ""]) {
        tr.insertCell().textContent = String(v);
      }
      tr.cells[2].className = "state-" + k.state;
    }
  }

  async function poll() {
    try {
      const r = await fetch("/api/status", { headers: authHeaders() });
      if (r.status === 401 || r.status === 403) { askForToken("status refused: a token is needed"); return; }
      if (!r.ok) { $("slot-name").textContent = "status unavailable (HTTP " + r.status + ")"; return; }
      showStatus(await r.json());
    } catch (e) {
      $("slot-name").textContent = "status unavailable: " + e.message;
    }
  }

  connect();
  poll();
  setInterval(poll, 2000);
  setInterval(drawChart, 1000);
})();
