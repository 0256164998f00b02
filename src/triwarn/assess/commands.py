"""`triwarn assess`: tracks.jsonl files in, fused and assessed, events.jsonl out."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

from triwarn.assess.areas import AreaModel, PolygonAreas
from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.assess.reader import read_tracks
from triwarn.errors import InputError
from triwarn.fusion.fuser import Fuser
from triwarn.records.events import encode_line
from triwarn.records.tracks import NationalTracks


def load_areas(areas: Path | None) -> AreaModel | None:
    """The areas from a GeoJSON file if given, else the packaged area index if installed, else None."""
    if areas is not None:
        return PolygonAreas.from_geojson(areas)
    try:
        from triwarn.geo.areas import AreaIndex  # the packaged prefectures, provinces and US areas

        return AreaIndex.load()
    except (ImportError, InputError) as exc:
        print(f"triwarn assess: no area data ({exc}); no area_risk events", file=sys.stderr)
        return None


def run_assess(tracks: list[Path], out: Path, areas: Path | None = None, seed: int = 0) -> Counter:
    """Read every tracks file (a record's "nation", else the file's stem, names its nation), fuse the
    nations' tracks at each report time, assess, and write the events to out as JSON lines.

    Returns the count of events by type (also printed on stderr).
    """
    if not tracks:
        raise InputError("give at least one --tracks file", field="--tracks")
    by_time: dict[float, list[NationalTracks]] = defaultdict(list)
    for path in tracks:
        default_nation = "own" if len(tracks) == 1 else Path(path).stem
        for t, table in read_tracks(Path(path), default_nation).items():
            by_time[t].append(table)
    area_model = load_areas(areas)
    fuser = Fuser()
    assessor = Assessor(area_model, AssessConfig(seed=seed))
    counts: Counter = Counter()
    try:
        fh = open(out, "wb")
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror})", source=str(out)) from None
    with fh:
        for t in sorted(by_time):
            system = fuser.update(t, by_time[t])
            for event in assessor.step(t, system):
                fh.write(encode_line(event))
                counts[type(event).__name__] += 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no events"
    print(f"triwarn assess: {len(by_time)} report times -> {summary} in {out}", file=sys.stderr)
    return counts
