// Projects the Natural Earth outlines (world-atlas countries-50m, TopoJSON) once, at build time, into
// static/basemap.json: land rings and country borders as delta-encoded integer base units, so that the
// page only turns numbers into a Path2D instead of projecting and clipping 100,000 points on load.
// Also writes the licence notice of everything bundled or copied into static/.
import { readFileSync, writeFileSync } from "node:fs";
import { geoArea, geoPath } from "d3-geo";
import { feature, mesh } from "topojson-client";
import { ROTATE, SCALE, baseProjection } from "./projection.mjs";

const world = JSON.parse(readFileSync("node_modules/world-atlas/countries-50m.json", "utf8"));

// A polygon wound inside-out covers more than a hemisphere (the Maldives in the 10m file): leave it out.
const countries = feature(world, world.objects.countries);
const bad = countries.features.filter((f) => geoArea(f) > 2 * Math.PI);
for (const f of bad) console.warn(`skipping inside-out feature ${f.id} ${f.properties.name}`);
const landGeom = bad.length
  ? { type: "FeatureCollection", features: countries.features.filter((f) => !bad.includes(f)) }
  : feature(world, world.objects.land);

class Rings {
  constructor() { this.rings = []; this.cur = null; }
  moveTo(x, y) { this.cur = [Math.round(x), Math.round(y)]; this.rings.push(this.cur); this.last = this.cur.slice(); }
  lineTo(x, y) {
    const rx = Math.round(x), ry = Math.round(y);
    if (rx === this.last[0] && ry === this.last[1]) return;
    this.cur.push(rx - this.last[0], ry - this.last[1]);
    this.last = [rx, ry];
  }
  closePath() {}
  arc() {}
}

function project(geom) {
  const sink = new Rings();
  geoPath(baseProjection(), sink)(geom);
  return sink.rings.filter((r) => r.length >= 4);
}

const land = project(landGeom);
const borders = project(mesh(world, world.objects.countries, (a, b) => a !== b));
const atlas = JSON.parse(readFileSync("node_modules/world-atlas/package.json", "utf8"));
writeFileSync("static/basemap.json", JSON.stringify({
  version: 1,
  source: `world-atlas ${atlas.version} countries-50m.json (Natural Earth, public domain)`,
  projection: { type: "mercator", rotate: ROTATE, scale: SCALE, translate: [0, 0] },
  encoding: "each ring: x0, y0, then dx, dy pairs; integer base units",
  land,
  borders,
}));
console.log(`basemap: ${land.length} land rings, ${borders.length} border lines`);

const parts = ["d3-geo", "d3-zoom", "d3-selection", "topojson-client", "world-atlas"].map((name) => {
  const pkg = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8"));
  const licence = readFileSync(`node_modules/${name}/LICENSE`, "utf8");
  return `== ${name} ${pkg.version} (${pkg.license}) ==\n${licence.trim()}\n`;
});
writeFileSync("static/THIRD-PARTY-LICENSES.txt",
  "Bundled into app.js, or projected into basemap.json, by `npm run build` (src/triwarn/web).\n" +
  "basemap.json: Natural Earth data (public domain) from world-atlas countries-50m.json.\n\n" + parts.join("\n"));
