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

A full or unwritable folder never stops the node (issue 16): an OSError while writing (ENOSPC, EROFS,
EACCES, ENOTDIR, ...) is counted per kind (`errors`: cap, cot, tracks, events), the last one is kept
(`last_error`: node-clock time, kind, file, errno text) and the kind is failing until a write of it
succeeds again; `status()` says so (the node's health "outputs", its metrics, its heartbeat). A CAP
document that could not be written stays in the feed and is queued (`cap_queued`, at most
CAP_QUEUE_MAX, the oldest dropped beyond and counted in `cap_dropped`); the queue is retried first at
every step, in order, each file still written once by write_cap_xml (a partial file left by the failed
attempt is removed first, so the retry is no clash). A name clash stays an error (FileExistsError).
CoT files and tracks/events lines that could not be written are counted and not retried.
"""

from __future__ import annotations

import errno
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
from lxml import etree

from triwarn.node.core import StepResult
from triwarn.records.warnings import WarningMessage
from triwarn.warn.cap import cap_filename, write_cap_xml

log = logging.getLogger(__name__)

CAP_FEED_ENTRIES = 200  # newest CAP documents kept for the Atom feed
CAP_QUEUE_MAX = 1000  # CAP documents kept for writing while the folder fails (the oldest dropped beyond)
OUTPUT_KINDS = ("cap", "cot", "tracks", "events")
COT_INTERVAL_S = 10.0  # CoT tracks and ellipses written every this many clock s (alert areas at every warning)


@dataclass(frozen=True)
class OutputFault:
    """The last write that failed: node-clock time of the step, what kind, which file, the errno text."""

    at_unix_s: float | None
    kind: str
    file: str
    error: str  # e.g. "ENOSPC: No space left on device"


@dataclass
class _PendingCap:
    msg: WarningMessage
    xml: bytes
    tried: bool = False  # a write was attempted and failed: a file it left may be ours


def _errno_text(e: OSError) -> str:
    name = errno.errorcode.get(e.errno or 0, "")
    text = e.strerror or str(e)
    return f"{name}: {text}" if name else text


def _ours(path: Path, xml: bytes) -> bool | None:
    """Whether the file at path is (a prefix of) xml: a write of ours that failed part way. None: no file."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(len(xml) + 1)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    return xml.startswith(data)


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
        # Per issuing nation, for the Atom feeds written at close (feeds/<nation>.xml; a run's record of what each
        # node's feed served, the same CAP documents as cap/).
        self._feed_entries = feed_entries
        self._nation_docs: dict[str, deque[bytes]] = {}
        self.cap_count = 0
        self.cot_count = 0
        self.cap_written = 0
        self.cap_queue: deque[_PendingCap] = deque()
        self.cap_queue_max = CAP_QUEUE_MAX
        self.cap_dropped = 0
        self.errors: dict[str, int] = dict.fromkeys(OUTPUT_KINDS, 0)
        self.last_error: OutputFault | None = None
        self._failing: set[str] = set()
        self._t: float | None = None  # the last step's time (for faults at close)
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
        if self.cap_dir is not None and self._nation_docs:
            self._write_feeds()
        for kind, fh in (("tracks", self._tracks_fh), ("events", self._events_fh)):
            if fh is not None:
                try:
                    fh.close()
                except OSError as e:
                    self._fault(kind, fh.name, e)
        self._tracks_fh = self._events_fh = None

    def _write_feeds(self) -> None:
        """feeds/<nation>.xml: each node's Atom feed of its CAP documents (newest first), as served live."""
        from triwarn.warn.feed import FeedEntry, atom_feed

        folder = self.out / "feeds"
        for nation, docs in sorted(self._nation_docs.items()):
            path = folder / f"{nation}.xml"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_bytes(atom_feed([FeedEntry(cap_xml=x) for x in docs], feed_id=f"urn:triwarn:feed:{nation}",
                                           title=f"triwarn {nation.upper()} warnings",
                                           self_url=f"feeds/{nation}.xml", now_unix_s=self._t))
            except OSError as e:
                self._fault("cap", str(path), e)
            except (ValueError, etree.LxmlError) as e:  # a document that is not XML: the feed is left out
                log.error("feed of %s not written: %s", nation, e)

    # ----------------------------------------------------------------------------------- fault state
    @property
    def ok(self) -> bool:
        """False while a kind of output fails or CAP documents wait to be written."""
        return not self._failing and not self.cap_queue

    def status(self) -> dict:
        """The outputs' state for the node's health (docs/node.md, "outputs")."""
        last = self.last_error
        return {
            "state": "ok" if self.ok else "failing", "failing": sorted(self._failing),
            "errors": dict(self.errors), "cap_written": self.cap_written, "cap_queued": len(self.cap_queue),
            "cap_dropped": self.cap_dropped,
            "last_error": None if last is None else {"at_unix_s": last.at_unix_s, "kind": last.kind,
                                                     "file": last.file, "error": last.error},
        }

    def _fault(self, kind: str, path, e: OSError) -> None:
        file = str(e.filename) if getattr(e, "filename", None) else str(path)
        self.errors[kind] += 1
        self.last_error = OutputFault(self._t, kind, file, _errno_text(e))
        if kind not in self._failing:
            log.error("%s output failing, the node goes on warning: %s (%s)", kind, self.last_error.error, file)
        self._failing.add(kind)

    def _fine(self, kind: str) -> None:
        if kind in self._failing:
            self._failing.discard(kind)
            log.warning("%s output written again", kind)

    def __enter__(self) -> OutputSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def on_step(self, nation: str, res: StepResult) -> None:
        """Write what one node's step produced."""
        self._t = res.t_unix_s
        if self.cap_dir is not None and self.cap_queue:
            self._flush_cap()  # what failed before goes first, in order
        for msg, xml in res.cap_xml:
            if self.cap_dir is not None:
                waiting = bool(self.cap_queue)  # the folder still fails: queued behind the others
                self._enqueue(msg, xml)
                if not waiting:
                    self._flush_cap()  # never overwrites: a clash is an error naming the file
            self.cap_docs.append(xml)
            self._nation_docs.setdefault(nation, deque(maxlen=self._feed_entries)).append(xml)
            self.cap_count += 1
        if self._tracks_fh is not None and res.system_tracks:
            self._lines("tracks", self._tracks_fh, lambda: self._write_tracks(nation, res))
        if self._events_fh is not None and res.events:
            self._lines("events", self._events_fh, lambda: self._write_events(nation, res))
        if self.cot_dir is not None:
            self._write_cot(nation, res)

    # ------------------------------------------------------------------------------------------- CAP
    def _enqueue(self, msg: WarningMessage, xml: bytes) -> None:
        self.cap_queue.append(_PendingCap(msg, xml))
        while len(self.cap_queue) > self.cap_queue_max:
            lost = self.cap_queue.popleft()
            self.cap_dropped += 1
            log.error("CAP queue full: %s dropped unwritten (it stayed in the feed)", lost.msg.identifier)

    def _flush_cap(self) -> None:
        """Write the queued CAP documents in order; stop at the first that fails (kept for the next step)."""
        while self.cap_queue:
            if not self._write_cap(self.cap_queue[0]):
                return
            self.cap_queue.popleft()

    def _write_cap(self, item: _PendingCap) -> bool:
        """Write one queued document: True once written, False on an output fault (counted, kept)."""
        path = self.cap_dir / cap_filename(item.msg)
        try:
            self._write_cap_file(item, path)
        except OSError as e:
            if isinstance(e, FileExistsError) and e.filename == str(path):
                self.cap_queue.popleft()  # item: the head (written in order)
                raise  # an issued CAP file is never overwritten: a clash stays an error
            if _ours(path, item.xml):
                try:
                    path.unlink()  # the empty or partial file the failed write left (so the retry is no clash)
                except OSError:
                    pass  # removed at the retry (item.tried)
            item.tried = True
            self._fault("cap", path, e)
            return False
        self.cap_written += 1
        self._fine("cap")
        return True

    def _write_cap_file(self, item: _PendingCap, path: Path) -> None:
        try:
            write_cap_xml(item.msg, item.xml, self.cap_dir)
        except FileExistsError as e:
            # Not a clash: cap/ itself is in the way (e.g. now a file), or the file is what an earlier
            # failed attempt of this very document left.
            if e.filename != str(path) or not (item.tried and _ours(path, item.xml)):
                raise
            if path.stat().st_size != len(item.xml):
                path.unlink()  # our partial file
                write_cap_xml(item.msg, item.xml, self.cap_dir)
            # else: the earlier attempt wrote it all and then failed (e.g. at close): it is written

    # ------------------------------------------------------------------------------- lines and CoT
    def _lines(self, kind: str, fh, write) -> None:
        """One step's lines to a JSONL file, flushed (lines that cannot be written are lost, counted)."""
        try:
            write()
            fh.flush()
        except OSError as e:
            self._fault(kind, fh.name, e)
        else:
            self._fine(kind)

    def _write_events(self, nation: str, res: StepResult) -> None:
        for ev in res.events:
            d = msgspec.to_builtins(ev)
            d["node"] = nation
            self._events_fh.write(self._enc.encode(d) + b"\n")

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
                path = self.cot_dir / f"{nation}-{res.t_unix_s:.0f}-{k:04d}.xml"
                try:
                    path.write_bytes(xml)
                except OSError as e:
                    if _ours(path, xml):
                        try:
                            path.unlink()
                        except OSError:
                            pass
                    self._fault("cot", path, e)
                    return  # the rest of this step's CoT waits for the next due time
                self._fine("cot")
                self.cot_count += 1
