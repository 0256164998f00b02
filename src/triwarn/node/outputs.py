"""A node's output sink: CAP files, CoT files and tracks/events lines, written from its step results.

    sink = OutputSink(Path("out"), cot=True, tracks=True, events=True)   # replay / exercise folder
    sink = OutputSink(Path("out/node-kr"))                                # a live node: CAP files only
    sink.on_step(nation, result)        # the runner calls it after every step
    sink.close()

One sink serves the live node (`triwarn node`), `triwarn replay` and exercises, with one rule for CAP
files: each issued message is written once to cap/<identifier>.xml by triwarn.warn.cap.write_cap_xml
(the writer `triwarn warn` uses too), which never overwrites: a name clash raises FileExistsError
naming the file. The newest CAP documents are also kept in memory for the node's Atom feed.

Files in the folder (each kind only when asked for):
- cap/*.xml: every CAP message as issued (`sent` on the node's clock);
- cot/*.xml: CoT events, tracks and ellipses at most every cot_interval_s of each node's clock, alert
  areas at every warning (NATION-T-K.xml);
- tracks.jsonl: every node's fused system tracks (the tracker's format plus "node" and "nations");
- events.jsonl: assessment events plus "node".
out None: nothing is written (the feed and the counters still are kept).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import msgspec
import numpy as np

from triwarn.node.core import StepResult
from triwarn.warn.cap import write_cap_xml

CAP_FEED_ENTRIES = 200  # newest CAP documents kept for the Atom feed
COT_INTERVAL_S = 10.0  # CoT tracks and ellipses written every this many clock s (alert areas at every warning)


class OutputSink:
    """Writers of a node's (or a run's) output folder, fed step by step (see the module docstring)."""

    def __init__(self, out: Path | None, *, cap: bool = True, cot: bool = False, tracks: bool = False,
                 events: bool = False, cot_interval_s: float = COT_INTERVAL_S,
                 feed_entries: int = CAP_FEED_ENTRIES) -> None:
        self.out = Path(out) if out is not None else None
        self.cap_dir = self.out / "cap" if self.out is not None and cap else None
        self.cot_dir = self.out / "cot" if self.out is not None and cot else None
        self.cot_interval_s = float(cot_interval_s)
        self.cap_docs: deque[bytes] = deque(maxlen=feed_entries)
        self.cap_count = 0
        self.cot_count = 0
        self._last_cot: dict[str, float] = {}
        self._enc = msgspec.json.Encoder()
        self._tracks_fh = self._events_fh = None
        for d in (self.cap_dir, self.cot_dir):
            if d is not None:
                d.mkdir(parents=True, exist_ok=True)
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            if tracks:
                self._tracks_fh = open(self.out / "tracks.jsonl", "wb")
            if events:
                self._events_fh = open(self.out / "events.jsonl", "wb")

    def close(self) -> None:
        for fh in (self._tracks_fh, self._events_fh):
            if fh is not None:
                fh.close()
        self._tracks_fh = self._events_fh = None

    def __enter__(self) -> OutputSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def on_step(self, nation: str, res: StepResult) -> None:
        """Write what one node's step produced."""
        for msg, xml in res.cap_xml:
            if self.cap_dir is not None:
                write_cap_xml(msg, xml, self.cap_dir)  # never overwrites: a clash is an error naming the file
            self.cap_docs.append(xml)
            self.cap_count += 1
        if self._tracks_fh is not None and res.system_tracks:
            self._write_tracks(nation, res)
        if self._events_fh is not None:
            for ev in res.events:
                d = msgspec.to_builtins(ev)
                d["node"] = nation
                self._events_fh.write(self._enc.encode(d) + b"\n")
        if self.cot_dir is not None:
            self._write_cot(nation, res)

    def _write_tracks(self, nation: str, res: StepResult) -> None:
        st = res.system_tracks  # records.tracks.SystemTracks: one row per system track
        lat, lon, alt = st.lat_deg.tolist(), st.lon_deg.tolist(), st.alt_m.tolist()
        modes, coasting = st.mode, st.coasting.tolist()
        for i, tid in enumerate(st.track_id.tolist()):
            self._tracks_fh.write(self._enc.encode({
                "t": res.t_unix_s, "track": tid, "ecef_m": st.pos_ecef_m[i].tolist(),
                "vel_ecef_mps": st.vel_ecef_mps[i].tolist(), "cov_ecef_m2": st.cov_ecef_m2[i].tolist(),
                "lat_deg": lat[i], "lon_deg": lon[i], "alt_m": alt[i], "mode": modes[i], "node": nation,
                "nations": list(st.nations[i]), "coasting": coasting[i]}) + b"\n")

    def _write_cot(self, nation: str, res: StepResult) -> None:
        due = res.t_unix_s - self._last_cot.get(nation, -np.inf) >= self.cot_interval_s
        if due:
            self._last_cot[nation] = res.t_unix_s
        for k, xml in enumerate(res.cot_xml):
            if due or b'type="u-d-f"' in xml:  # alert areas always
                (self.cot_dir / f"{nation}-{res.t_unix_s:.0f}-{k:04d}.xml").write_bytes(xml)
                self.cot_count += 1
