// The operator console: who is logged in, and the operator's Cancel or correction of an issued alert in two
// clicks ("Cancel alert…" then the reason; or, after choosing areas, "Correct…" then the reason), with an
// optional note. The server decides everything (role, nation, a second operator for live alerts); this only
// shows what /api/me and /api/cancellable say. See docs/console.md.

const POLL_MS = 1000;

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: "same-origin", ...options });
  if (res.status === 401) { // no session (or it ended): log in; nothing else happens on this page
    location.href = "/login";
    return new Promise(() => {});
  }
  return res;
}

// The session (GET /api/me); a page without one goes to the login page.
export async function whoAmI() {
  const res = await api("/api/me");
  return res.ok ? res.json() : null; // null: an open console (tests, previews), no operator panel
}

function node(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// The header's "user (role) · Log out".
export function showUser(me, box) {
  const out = node("button", {
    type: "button", id: "logout", onclick: async () => {
      await api("/api/logout", { method: "POST" });
      location.href = "/login";
    },
  }, "Log out");
  box.replaceChildren(node("span", { "data-user": me.user }, `${me.user} (${me.role})`), " ", out);
}

// The operator panel: for each open incident of the current view,
// - "Cancel alert…" (click 1) opens the reasons, each a button (click 2) that sends the Cancel;
// - "Correct areas…" opens the incident's areas: tick the warned ones alerted in error (removed: they get
//   the error text) and the ones it missed (added: shelter), then "Correct…" (click 1) opens the reasons
//   and a reason (click 2) sends the correction. Areas an operator removed stay suppressed until their risk
//   materially changes; the panel says so, and when a change lifted a suppression, why.
// What is ticked and typed survives the panel's refresh (it redraws when the server's state changes).
export function operatorPanel(me, section, currentNation) {
  if (!me || !me.can_cancel) return;
  section.hidden = false;
  const body = section.querySelector("#op-body");
  const status = section.querySelector("#op-status");
  const ui = { open: null, mode: null, reasonsShown: false, remove: new Set(), add: new Set(), note: "" };
  let lastKey = null;
  let lastState = null;

  function reset() {
    Object.assign(ui, { open: null, mode: null, reasonsShown: false, note: "" });
    ui.remove.clear();
    ui.add.clear();
    lastKey = null;
  }

  function redraw() {
    lastKey = null;
    if (lastState) render(lastState);
  }

  async function post(path, payload) {
    const res = await api(path, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload),
    });
    return [res, await res.json()];
  }

  async function send(incident, reason) {
    const kind = ui.mode;
    const what = kind === "correct" ? "Correction" : "Cancel";
    status.textContent = `Sending ${what.toLowerCase()} of ${incident}…`;
    const payload = { nation: currentNation(), incident, reason, note: ui.note || null };
    if (kind === "correct") Object.assign(payload, { remove: [...ui.remove].sort(), add: [...ui.add].sort() });
    const [res, doc] = await post(`/api/${kind}`, payload);
    reset();
    status.textContent = res.ok
      ? (doc.state === "awaiting_confirmation" ? `${what} of ${incident} awaits a second operator.`
        : `${what} of ${incident} queued; it goes out at the node's next step.`)
      : `${what} refused: ${doc.detail}`;
    status.dataset.state = res.ok ? doc.state : "refused";
    poll();
  }

  async function confirm(held) {
    const [res, doc] = await post(`/api/${held.kind}/${encodeURIComponent(held.id)}/confirm`, {});
    status.textContent = res.ok ? `Confirmed: ${held.kind} of ${held.incident} queued.` : `Not confirmed: ${doc.detail}`;
    status.dataset.state = res.ok ? "queued" : "refused";
    lastKey = null;
    poll();
  }

  function toggle(incident, mode) {
    const same = ui.open === incident && ui.mode === mode;
    reset();
    if (!same) Object.assign(ui, { open: incident, mode });
    redraw();
  }

  function noteInput(label) {
    return node("input", { type: "text", class: "op-note", maxlength: "500", placeholder: "note (optional)",
      "aria-label": label, value: ui.note, oninput: (e) => { ui.note = e.target.value; } });
  }

  function reasonButtons(incident, cls, label) {
    return node("div", { class: "op-reasons", role: "group", "aria-label": label },
      ...me.reasons.map((r) => node("button", { type: "button", class: cls, "data-reason": r.code,
        onclick: () => send(incident, r.code) }, r.words)));
  }

  function tick(set, code, cls) {
    const box = node("input", { type: "checkbox", value: code, onchange: (e) => {
      if (e.target.checked) set.add(code); else set.delete(code);
      ui.reasonsShown = false;
      redraw();
    } });
    box.checked = set.has(code);
    return node("label", { class: cls, [`data-${cls === "op-remove" ? "remove" : "add"}`]: code }, box, ` ${code}`);
  }

  function correctForm(inc, state) {
    const warned = Object.entries(inc.areas).filter(([, s]) => ["shelter", "notice", "passed"].includes(s));
    const addable = state.addable.filter((a) => !warned.some(([c]) => c === a.code));
    const chosen = ui.remove.size + ui.add.size;
    const parts = [
      node("p", { class: "muted" }, "Remove (alerted in error):"),
      node("div", { class: "op-areas" }, ...warned.map(([c, s]) => tick(ui.remove, c, "op-remove")),
        warned.length ? null : node("span", { class: "muted" }, "none warned")),
      node("p", { class: "muted" }, "Add (missed):"),
      node("div", { class: "op-areas op-addable" }, ...addable.map((a) => {
        const label = tick(ui.add, a.code, "op-add");
        label.title = a.name;
        return label;
      })),
      noteInput(`Note for the correction of ${inc.incident}`),
      node("button", { type: "button", class: "op-correct-go", "aria-expanded": String(ui.reasonsShown),
        onclick: () => { ui.reasonsShown = !ui.reasonsShown; redraw(); } },
      chosen ? `Correct… (${ui.remove.size} removed, ${ui.add.size} added)` : "Correct… (choose areas)"),
    ];
    parts[parts.length - 1].disabled = !chosen; // "Correct…" needs at least one area chosen
    if (ui.reasonsShown && chosen) parts.push(reasonButtons(inc.incident, "op-correct-reason", "Reason (sends the correction)"));
    if (state.needs_second) parts.push(node("p", { class: "muted" }, "A live alert's correction waits for a second operator."));
    return node("div", { class: "op-form op-correct-form" }, ...parts);
  }

  function suppressionNote(inc) {
    const bits = [];
    if (inc.suppressed.length) {
      bits.push(node("p", { class: "op-suppressed", "data-suppressed": inc.suppressed.join(" ") },
        `Suppressed (removed by an operator): ${inc.suppressed.join(", ")}; not alerted again until the risk `
        + "materially changes (a new track, or a rise of 0.2)."));
    }
    for (const l of inc.lifted) {
      bits.push(node("p", { class: "muted", "data-lifted": l.area }, `${l.area} alerted again: ${l.why}`));
    }
    return bits;
  }

  function render(state) {
    lastState = state;
    const key = JSON.stringify([currentNation(), ui.open, ui.mode, ui.reasonsShown, [...ui.remove], [...ui.add], state]);
    if (key === lastKey) return;
    lastKey = key;
    const byName = new Map((state.correctable || []).map((c) => [c.incident, c]));
    const rows = [];
    for (const name of state.incidents) {
      const inc = byName.get(name) || { incident: name, areas: {}, suppressed: [], lifted: [] };
      const open = ui.open === name;
      const row = node("li", { "data-incident": name },
        node("span", { class: "state" }, name),
        node("button", { type: "button", class: "op-cancel", "aria-expanded": String(open && ui.mode === "cancel"),
          onclick: () => toggle(name, "cancel") }, "Cancel alert…"),
        node("button", { type: "button", class: "op-correct", "aria-expanded": String(open && ui.mode === "correct"),
          onclick: () => toggle(name, "correct") }, "Correct areas…"),
        ...suppressionNote(inc));
      if (open && ui.mode === "cancel") {
        row.append(node("div", { class: "op-form" }, noteInput(`Note for the cancel of ${name}`),
          reasonButtons(name, "op-reason", "Reason (sends the cancel)"),
          state.needs_second ? node("p", { class: "muted" }, "A live alert's cancel waits for a second operator.") : null));
      } else if (open && ui.mode === "correct") {
        row.append(correctForm(inc, state));
      }
      rows.push(row);
    }
    for (const held of state.awaiting) {
      const what = held.kind === "correct"
        ? `correction (remove ${held.remove.join(", ") || "none"}; add ${held.add.join(", ") || "none"})` : "cancel";
      rows.push(node("li", { "data-awaiting": held.id, "data-kind": held.kind },
        node("span", {}, `${held.incident}: ${what}, ${held.reason} by ${held.user}`),
        held.user === me.user ? node("span", { class: "muted" }, " awaits a second operator")
          : node("button", { type: "button", class: "op-confirm", onclick: () => confirm(held) },
            held.kind === "correct" ? "Confirm correction" : "Confirm cancel")));
    }
    for (const o of state.outcomes.slice(-3).reverse()) {
      const ids = o.cap_identifiers && o.cap_identifiers.length ? ` (${o.cap_identifiers.join(", ")})` : "";
      rows.push(node("li", { class: "muted", "data-outcome": o.state, "data-kind": o.kind || "cancel" },
        `${o.incident}: ${o.kind || "cancel"} ${o.state}${ids}${o.error ? ` — ${o.error}` : ""}`));
    }
    body.replaceChildren(...(rows.length ? rows : [node("li", { class: "muted" }, "No issued alert to cancel or correct.")]));
  }

  async function poll() {
    const nation = currentNation();
    if (!nation) return;
    try {
      const res = await api(`/api/cancellable?nation=${encodeURIComponent(nation)}`);
      if (res.ok) render(await res.json());
    } catch (err) {
      status.textContent = `operator panel: ${err.message}`;
    }
  }
  poll();
  setInterval(poll, POLL_MS);
}
