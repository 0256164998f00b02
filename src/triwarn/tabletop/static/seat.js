// One page for every seat: a nation's seat decides; the controller runs the clock and injects; an observer
// watches. The server says who the code is (/api/me) and streams what the seat may see (/api/stream).
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let code = params.get("code") || "";
let me = null;
const seenInjects = new Set();

function clock(t) {
  const s = Math.max(0, Math.floor(t));
  return "T+" + String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
}

async function post(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                               body: JSON.stringify(Object.assign({code}, body))});
  return [r.status, await r.json()];
}

function addEntries(entries) {
  const ol = $("timeline");
  for (const e of entries) {
    const li = document.createElement("li");
    li.className = e.kind;
    li.dataset.seq = e.seq;
    li.dataset.kind = e.kind;
    if (e.data && e.data.number !== undefined && e.kind === "inject") li.dataset.inject = e.data.number;
    li.textContent = clock(e.t_s) + (e.branch ? " [b" + e.branch + "] " : " ") + e.text;
    ol.appendChild(li);
    if (e.kind === "inject" && me.nation && !seenInjects.has(e.data.number)) {
      seenInjects.add(e.data.number);
      const o = document.createElement("option");
      o.value = e.data.number;
      o.textContent = "#" + e.data.number + " " + e.data.type;
      $("inject").appendChild(o);
    }
  }
  ol.scrollTop = ol.scrollHeight;
}

function showPicture(p) {
  const div = $("picture");
  div.textContent = "";
  const h = document.createElement("p");
  h.textContent = `${clock(p.t_s)}: ${p.tracks.length} track(s); alerts: ` +
    (p.alerts.map((a) => `${a.area} ${a.state}`).join(", ") || "none");
  div.appendChild(h);
  const ul = document.createElement("ul");
  for (const l of p.links || []) {
    const li = document.createElement("li");
    li.textContent = `link ${l.partner}: ${l.state}`;
    ul.appendChild(li);
  }
  div.appendChild(ul);
}

function setupSeat() {
  $("seat-panel").hidden = false;
  for (const a of me.actions) $("action").add(new Option(a, a));
  for (const c of me.areas) $("areas").add(new Option(c, c));
  for (const n of me.nations) if (n !== me.nation) $("partner").add(new Option(n, n));
  $("decide").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {action: $("action").value, note: $("note").value};
    const areas = [...$("areas").selectedOptions].map((o) => o.value);
    if (areas.length) body.areas = areas;
    if ($("partner").value) body.partner = $("partner").value;
    if ($("data").value) body.data = $("data").value;
    if ($("inject").value) body.inject = Number($("inject").value);
    const [status, res] = await post("/api/decide", body);
    $("decide-result").textContent = res.ok ? "accepted" : "refused: " + (res.error || res.entry.text);
    $("decide-result").dataset.status = status;
  });
}

function setupController() {
  $("controller-panel").hidden = false;
  for (const t of me.decision_points) $("rewind").add(new Option(clock(t), t));
  for (const o of me.objectives) $("rate-objective").add(new Option(o, o));
  const tb = $("msel").querySelector("tbody");
  for (const i of me.msel) {
    const tr = document.createElement("tr");
    for (const v of [i.number, clock(i.time_s), i.type, i.to.join(", "), i.description]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const b = document.createElement("button");
    b.textContent = "Send now";
    b.dataset.inject = i.number;
    b.addEventListener("click", () => control({action: "inject", number: i.number}));
    td.appendChild(b);
    tr.appendChild(td);
    tb.appendChild(tr);
  }
  const bodies = {
    start: () => ({action: "start"}), pause: () => ({action: "pause"}), resume: () => ({action: "resume"}),
    speed: () => ({action: "speed", speed: Number($("speed").value)}),
    rewind: () => ({action: "rewind", t_s: Number($("rewind").value)}),
    adhoc: () => ({action: "adhoc", type: $("adhoc-type").value, description: $("adhoc-text").value,
                   to: $("adhoc-to").value.split(",").map((s) => s.trim()).filter(Boolean)}),
    improvement: () => ({action: "improvement", issue: $("ip-issue").value, corrective_action: $("ip-action").value,
                         capability: $("ip-capability").value, responsible: $("ip-responsible").value,
                         due: $("ip-due").value}),
    rate: () => ({action: "rate", objective: $("rate-objective").value, rating: $("rate-rating").value,
                  note: $("rate-note").value}),
    end: () => ({action: "end"}),
  };
  for (const b of document.querySelectorAll("#controller-panel button[data-act]")) {
    b.addEventListener("click", () => control(bodies[b.dataset.act]()));
  }
  $("aar-btn").addEventListener("click", async () => {
    const r = await fetch("/api/aar?code=" + encodeURIComponent(code));
    const res = await r.json();
    $("control-result").textContent = res.ok ? "AAR/IP written: " + res.html + ", " + res.pdf : res.error;
  });
}

async function control(body) {
  const [, res] = await post("/api/control", body);
  $("control-result").textContent = res.ok ? res.entry.text : "refused: " + (res.error || res.entry.text);
}

function listen() {
  const es = new EventSource("/api/stream?code=" + encodeURIComponent(code));
  es.addEventListener("entries", (ev) => addEntries(JSON.parse(ev.data)));
  es.addEventListener("status", (ev) => {
    const st = JSON.parse(ev.data);
    $("clock").textContent = clock(st.t_s);
    $("run").textContent = (st.running ? "running" : "paused") + " at " + st.speed + "x";
  });
  es.addEventListener("picture", (ev) => showPicture(JSON.parse(ev.data)));
}

async function join() {
  const r = await fetch("/api/me?code=" + encodeURIComponent(code));
  if (!r.ok) {
    $("join").hidden = false;
    $("join-error").textContent = code ? "That code is not a seat of this exercise." : "";
    return;
  }
  me = await r.json();
  document.body.dataset.seat = me.seat;
  $("join").hidden = true;
  $("main").hidden = false;
  $("title").textContent = me.name + " (" + me.exercise + ")";
  $("who").textContent = "seat: " + me.seat;
  if (me.seat === "controller") setupController();
  else if (me.nation) setupSeat();
  listen();
}

$("join-btn").addEventListener("click", () => { code = $("code-input").value.trim(); join(); });
join();
