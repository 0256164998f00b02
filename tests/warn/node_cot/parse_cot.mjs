// Reads a JSON array of CoT XML strings on stdin; prints a JSON array with, per event, what
// @tak-ps/node-cot makes of it: its GeoJSON feature, or the error it raised.
import { CoTParser } from '@tak-ps/node-cot';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const xml of JSON.parse(input)) {
    try {
        const cot = CoTParser.from_xml(xml);
        out.push({ ok: true, feature: await CoTParser.to_geojson(cot) });
    } catch (err) {
        out.push({ ok: false, error: String(err && err.message ? err.message : err) });
    }
}
process.stdout.write(JSON.stringify(out));
