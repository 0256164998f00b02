// The "Sharing gain" panel of an exercise: per area of the view's nation, the first alert with sharing and
// alone (the no-sharing baseline), the seconds sharing gained, and why when it gained nothing. The rows are
// the picture's sharing_gain (PictureFeed: the view's own first alerts during the run; summary.json's
// sharing_gain rows once the exercise has ended, sharing_gain_final). See docs/ui.md.

const KINDS = [
  ["shelter", "first_shelter_shared_unix_s", "first_shelter_alone_unix_s", "gain_s", "gain_reason"],
  ["notice", "first_notice_shared_unix_s", "first_notice_alone_unix_s", "notice_gain_s", "notice_gain_reason"],
];

function node(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const num = (v) => (v === null || v === undefined ? "" : String(v));

// One line per (area, kind) alerted in either run; an area only crossed (never alerted) gives its shelter line.
export function gainLines(rows) {
  const out = [];
  for (const r of rows) {
    const kinds = KINDS.filter(([, s, a]) => r[s] !== null || r[a] !== null);
    for (const [kind, s, a, g, why] of kinds.length ? kinds : KINDS.slice(0, 1)) {
      out.push({ area: r.area, kind, shared: r[s], alone: r[a], gain: r[g], reason: r[why] });
    }
  }
  return out;
}

// rel(t): how the page writes a time (T+ seconds, or UTC). Returns the panel's children for the section.
export function gainPanel(picture, rel) {
  const rows = picture.sharing_gain || [];
  const final = !!picture.sharing_gain_final;
  const note = picture.sharing_gain_note || "";
  const lines = gainLines(rows);
  const children = [];
  if (!lines.length) {
    children.push(node("p", { class: "muted", id: "gain-empty" },
      note || (final ? "No area of this view was alerted or crossed." : "No alert issued yet in this view.")));
    return children;
  }
  const head = node("tr", {}, ...["Area", "First alert shared", "Alone", "Gain"].map((h) => node("th", { scope: "col" }, h)));
  const body = lines.map((l) => {
    const gain = l.gain === null || l.gain === undefined ? "—" : `${l.gain > 0 ? "+" : ""}${Math.round(l.gain)} s`;
    const tr = node("tr", {
      "data-area": l.area, "data-kind": l.kind, "data-shared": num(l.shared), "data-alone": num(l.alone),
      "data-gain": num(l.gain), class: l.gain > 0 ? "gain-pos" : (l.gain < 0 ? "gain-neg" : ""),
    },
    node("td", {}, `${l.area} `, node("span", { class: "muted" }, l.kind)),
    node("td", {}, l.shared === null ? "—" : rel(l.shared)),
    node("td", {}, l.alone === null ? (final ? "—" : "pending") : rel(l.alone)),
    node("td", { class: "gain" }, gain));
    // Why, when sharing gained nothing (zero, none, or later: a fault).
    const why = final && !(l.gain > 0) && l.reason
      ? node("tr", { class: "gain-why", "data-area": l.area, "data-kind": l.kind },
        node("td", { colspan: "4" }, l.reason)) : null;
    return why ? [tr, why] : [tr];
  });
  children.push(node("table", { id: "gain-table" }, node("thead", {}, head), node("tbody", {}, ...body.flat())));
  if (note) children.push(node("p", { class: "muted gain-note" }, note));
  return children;
}
