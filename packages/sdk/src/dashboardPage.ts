/**
 * The dashboard's page: one HTML document with its style and script inline, fetching nothing
 * but this node's own API (see dashboard.ts). Charts are drawn on canvas by the script.
 *
 * @internal
 */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>raftkit dashboard</title>
<style>
  :root { --bg:#0f1419; --panel:#182029; --line:#2a3642; --text:#d8e0e8; --dim:#8a99a8; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  [hidden] { display:none !important; }
  body { margin:0; background:var(--bg); color:var(--text); font:14px/1.4 system-ui, sans-serif; }
  header { display:flex; align-items:center; gap:1rem; padding:.8rem 1.2rem; border-bottom:1px solid var(--line); }
  header h1 { font-size:1.1rem; margin:0; font-weight:600; }
  .badge { padding:.15rem .6rem; border-radius:1rem; font-size:.8rem; font-weight:600; background:var(--line); }
  .ok { color:var(--ok); } .bad { color:var(--bad); } .warn { color:var(--warn); } .dim { color:var(--dim); }
  .badge.ok { background:#12361f; } .badge.bad { background:#4a1618; } .badge.warn { background:#3d2e0c; }
  main { display:grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap:1rem; padding:1rem 1.2rem; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:.5rem; padding:.8rem 1rem; }
  section h2 { font-size:.85rem; text-transform:uppercase; letter-spacing:.05em; color:var(--dim); margin:0 0 .6rem; }
  table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align:left; padding:.3rem .4rem; border-bottom:1px solid var(--line); }
  th { color:var(--dim); font-weight:500; font-size:.8rem; }
  tr.leader td:first-child { border-left:3px solid var(--accent); }
  canvas { width:100%; height:140px; display:block; }
  ol { margin:0; padding-left:1.2rem; max-height:220px; overflow:auto; }
  li.fresh { animation: flash 3s ease-out; }
  @keyframes flash { from { background:#6e5600; } to { background:transparent; } }
  form { display:flex; gap:.5rem; padding:2rem 1.2rem; }
  input { background:var(--panel); color:var(--text); border:1px solid var(--line); border-radius:.3rem; padding:.4rem .6rem; min-width:20rem; }
  button { background:var(--accent); color:#fff; border:0; border-radius:.3rem; padding:.4rem .9rem; cursor:pointer; }
  #strip { width:100%; height:28px; display:block; margin-bottom:.5rem; }
</style>
</head>
<body>
<header>
  <h1>raftkit · <span id="self">…</span></h1>
  <span class="badge" id="health" data-testid="health">connecting</span>
  <span>leader <strong id="leader" data-testid="leader">-</strong></span>
  <span>term <strong id="term" data-testid="term">-</strong></span>
  <span class="dim" id="conn"></span>
</header>
<form id="login" hidden>
  <input id="secret" type="password" placeholder="API secret (kept in this tab's sessionStorage)" autocomplete="off" data-testid="secret">
  <button type="submit">Open</button>
</form>
<main id="main" hidden>
  <section style="grid-column: 1 / -1">
    <h2>Members</h2>
    <table data-testid="members">
      <thead><tr><th>id</th><th>role</th><th>term</th><th>commit</th><th>applied</th><th>lag</th><th>match (leader's view)</th><th>health</th></tr></thead>
      <tbody id="members"></tbody>
    </table>
    <p class="dim" id="membership" data-testid="membership"></p>
  </section>
  <section>
    <h2>Throughput (commands applied / s)</h2>
    <canvas id="tput" data-testid="throughput"></canvas>
  </section>
  <section>
    <h2>WAL fsync latency on this node (ms, mean per second)</h2>
    <canvas id="fsync" data-testid="fsync"></canvas>
  </section>
  <section>
    <h2>Leader changes</h2>
    <canvas id="strip"></canvas>
    <ol id="changes" data-testid="leader-changes" reversed></ol>
  </section>
  <section>
    <h2>Recent commits</h2>
    <table><thead><tr><th>index</th><th>command</th><th>term</th><th>time</th></tr></thead>
    <tbody id="commits" data-testid="commits"></tbody></table>
  </section>
</main>
<script>
"use strict";
const api = location.pathname.replace(/\\/dashboard\\/?$/, "");
const KEY = "raftkit.dashboard.secret";
let secret = sessionStorage.getItem(KEY);
const $ = (id) => document.getElementById(id);
const auth = () => (secret ? { authorization: "Bearer " + secret } : {});
const WINDOW = 60;
const tput = [], fsync = [], changes = [], commits = [];
let lastLeader = null, lastCounters = null, started = false, commitsThisSecond = 0;

function text(el, v) { el.textContent = v; return el; }
function cell(tr, v, cls) { const td = document.createElement("td"); text(td, v); if (cls) td.className = cls; tr.appendChild(td); }

function showLogin() {
  $("main").hidden = true; $("login").hidden = false;
  text($("health"), "secret needed").className = "badge warn";
}
$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  secret = $("secret").value; sessionStorage.setItem(KEY, secret);
  $("login").hidden = true; start();
});

function noteLeader(leader, term) {
  if (leader === null || leader === lastLeader) return;
  const first = lastLeader === null && changes.length === 0;
  lastLeader = leader;
  changes.push({ at: Date.now(), leader, term, first });
  const li = document.createElement("li");
  li.className = first ? "" : "fresh";
  li.dataset.leader = leader;
  text(li, new Date().toLocaleTimeString() + " — " + leader + " leads (term " + term + ")" + (first ? " (first seen)" : ""));
  $("changes").prepend(li);
}

function healthOf(s) {
  if (!s) return ["unreachable", "bad"];
  if (s.stopped) return ["stopped", "bad"];
  if (s.leader === null) return ["no leader", "bad"];
  if (s.commit - s.applied > 1000) return ["applying behind", "warn"];
  return ["ok", "ok"];
}

function renderCluster(d) {
  text($("self"), "node " + d.node);
  const statuses = d.members.map((m) => m.status).filter(Boolean);
  const leaderStatus = statuses.find((s) => s.role === "leader");
  const top = Math.max(0, ...statuses.map((s) => s.commit));
  const self = d.members.find((m) => m.id === d.node)?.status;
  const [h, cls] = healthOf(self);
  text($("health"), h).className = "badge " + cls;
  text($("leader"), self?.leader ?? "none");
  text($("term"), self ? String(self.term) : "-");
  if (self) noteLeader(self.leader, self.term);
  const tbody = $("members"); tbody.replaceChildren();
  for (const m of d.members) {
    const s = m.status, tr = document.createElement("tr");
    tr.dataset.testid = "member-" + m.id; tr.setAttribute("data-testid", "member-" + m.id);
    if (s && s.role === "leader") tr.className = "leader";
    const [mh, mc] = healthOf(s);
    cell(tr, m.id + (m.id === d.node ? " (this node)" : ""));
    cell(tr, s ? (s.stopped ? "stopped" : s.role) : "?", s && s.role === "leader" ? "ok" : "");
    cell(tr, s ? String(s.term) : "-");
    cell(tr, s ? String(s.commit) : "-");
    cell(tr, s ? String(s.applied) : "-");
    cell(tr, s ? String(top - s.applied) : "-", s && top - s.applied > 100 ? "warn" : "");
    const pr = leaderStatus?.progress?.[m.id];
    cell(tr, pr ? pr.match + " (" + pr.state + ")" : "-");
    cell(tr, m.error && !s ? mh + ": " + m.error : mh, mc);
    tbody.appendChild(tr);
  }
  const ms = (self ?? statuses[0])?.membership;
  if (ms) text($("membership"), "voters: " + ms.voters.join(", ") + (ms.learners.length ? " · learners: " + ms.learners.join(", ") : "") +
    (ms.votersOutgoing.length ? " · leaving joint config from: " + ms.votersOutgoing.join(", ") : ""));
  const c = d.counters;
  if (c && lastCounters) {
    const n = c.fsyncs - lastCounters.fsyncs;
    push(fsync, n > 0 ? ((c.fsyncSeconds - lastCounters.fsyncSeconds) / n) * 1000 : 0);
  }
  if (c) lastCounters = c;
}

function push(series, v) { series.push(v); if (series.length > WINDOW) series.shift(); }

function draw(canvas, series, color, unit) {
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d"); g.scale(dpr, dpr); g.clearRect(0, 0, w, h);
  const max = Math.max(1, ...series) * 1.15, pad = 4, left = 44;
  g.strokeStyle = "#2a3642"; g.fillStyle = "#8a99a8"; g.font = "11px system-ui"; g.lineWidth = 1;
  for (const f of [0, 0.5, 1]) {
    const y = pad + (h - 2 * pad) * (1 - f);
    g.beginPath(); g.moveTo(left, y); g.lineTo(w, y); g.stroke();
    g.fillText((max * f).toFixed(max * f < 10 ? 1 : 0) + unit, 2, y + 4);
  }
  if (series.length < 2) return;
  const x = (i) => left + ((w - left) * i) / (WINDOW - 1);
  const y = (v) => pad + (h - 2 * pad) * (1 - v / max);
  const off = WINDOW - series.length;
  g.beginPath(); g.moveTo(x(off), h - pad);
  series.forEach((v, i) => g.lineTo(x(off + i), y(v)));
  g.lineTo(x(off + series.length - 1), h - pad); g.closePath();
  g.fillStyle = color + "33"; g.fill();
  g.beginPath(); series.forEach((v, i) => (i ? g.lineTo(x(off + i), y(v)) : g.moveTo(x(off + i), y(v))));
  g.strokeStyle = color; g.lineWidth = 2; g.stroke();
}

function drawStrip() {
  const canvas = $("strip"), dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d"); g.scale(dpr, dpr); g.clearRect(0, 0, w, h);
  const now = Date.now(), span = WINDOW * 1000, colors = ["#58a6ff", "#3fb950", "#d29922", "#bc8cff", "#f778ba"];
  const ids = [...new Set(changes.map((c) => c.leader))];
  changes.forEach((c, i) => {
    const from = Math.max(c.at, now - span), to = i + 1 < changes.length ? changes[i + 1].at : now;
    if (to < now - span) return;
    const x0 = ((from - (now - span)) / span) * w, x1 = ((to - (now - span)) / span) * w;
    g.fillStyle = colors[ids.indexOf(c.leader) % colors.length]; g.fillRect(x0, 4, Math.max(1, x1 - x0), h - 8);
    if (!c.first) { g.fillStyle = "#f85149"; g.fillRect(x0 - 1, 0, 3, h); }
    g.fillStyle = "#0f1419"; g.font = "bold 11px system-ui"; if (x1 - x0 > 30) g.fillText(c.leader, x0 + 6, h / 2 + 4);
  });
}

function addCommit(c) {
  commitsThisSecond++;
  commits.unshift(c); if (commits.length > 15) commits.pop();
  const tbody = $("commits"); tbody.replaceChildren();
  for (const x of commits) {
    const tr = document.createElement("tr");
    cell(tr, String(x.index)); cell(tr, x.name); cell(tr, String(x.term));
    cell(tr, new Date(x.time).toLocaleTimeString());
    tbody.appendChild(tr);
  }
}

async function stream() {
  for (;;) {
    try {
      const r = await fetch(api + "/events", { headers: auth() });
      if (r.status === 401) { showLogin(); return; }
      if (!r.ok || !r.body) throw new Error("HTTP " + r.status);
      text($("conn"), "live");
      const reader = r.body.getReader(), dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let end;
        while ((end = buf.indexOf("\\n\\n")) >= 0) {
          const block = buf.slice(0, end); buf = buf.slice(end + 2);
          let ev = "message", data = "";
          for (const line of block.split("\\n")) {
            if (line.startsWith("event:")) ev = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (!data) continue;
          const body = JSON.parse(data).json;
          if (ev === "commit") addCommit(body);
          else if (ev === "status") { noteLeader(body.leader, body.term); text($("leader"), body.leader ?? "none"); text($("term"), String(body.term)); }
        }
      }
    } catch (e) { /* reconnect below */ }
    text($("conn"), "reconnecting…");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function poll() {
  try {
    const r = await fetch(api + "/dashboard/cluster", { headers: auth() });
    if (r.status === 401) { showLogin(); return false; }
    renderCluster(await r.json());
    $("main").hidden = false;
    return true;
  } catch (e) {
    text($("health"), "unreachable").className = "badge bad";
    return true;
  }
}

async function start() {
  if (!(await poll()) || started) return;
  started = true;
  void stream();
  setInterval(() => {
    push(tput, commitsThisSecond); commitsThisSecond = 0;
    document.body.dataset.samples = String(tput.length);
    void poll();
    draw($("tput"), tput, "#58a6ff", "");
    draw($("fsync"), fsync, "#d29922", "ms");
    drawStrip();
  }, 1000);
}
void start();
</script>
</body>
</html>
`;
