"""An exercise's plan: the scenario's `network:` faults and `injects:`, on top of its launches and sensors.

```yaml
exercise: TRIWARN-OCT22          # optional: the exercise name in every CAP message (default: name)
step_s: 1.0                      # optional: the simulated clock's step (s)
network:                         # optional
  hub: us                        # the link-control hub (default us)
  latency_s: 0.5                 # one-way latency of every shared message (sim s)
  future_skew_s: 5               # receivers' admission tolerance for clocks ahead of theirs (s)
  outages:                       # a nation's link down; nation == hub: the hub itself down
    - {nation: us, start_s: 200, end_s: 320}
  clock_offsets_s: {kr: 3.0}     # a node's host clock ahead (+) or behind (-) the true time
injects:
  - {sensor_down: kr-gp-central, start_s: 90, end_s: 240}   # no detections from it in the window
  - {track_lost: L1/warhead, at_s: 420}                      # no detections of it from then on
```

Every time in the plan is seconds after T0, the first launch ("T+90 s"). track_lost names an object
("L1/warhead") or a whole launch ("L1": every object of it). The scenario parser (sensors/scenario.py)
keeps these keys in Scenario.extra; this module reads them with errors that name file, line and field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.errors import InputError
from triwarn.node.core import NATIONS
from triwarn.node.lockstep import LinkModel, LinkOutage
from triwarn.records.detections import MeasurementLog
from triwarn.sensors.definitions import sequence_lines
from triwarn.sensors.scenario import Scenario, load_scenario
from triwarn.sensors.simulate import SimulationResult

MAX_T_S = 86_400.0


@dataclass(frozen=True)
class SensorDown:
    """A sensor producing nothing over [start_unix_s, end_unix_s)."""

    sensor: str
    start_unix_s: float
    end_unix_s: float


@dataclass(frozen=True)
class TrackLost:
    """No sensor sees the target (an object id, or a launch id for all its objects) from t_unix_s on."""

    target: str
    t_unix_s: float


@dataclass
class ExercisePlan:
    """A scenario plus its exercise settings. Times unix seconds (sim clock)."""

    scenario: Scenario
    name: str
    t0_unix_s: float
    step_s: float = 1.0
    links: LinkModel = field(default_factory=LinkModel)
    future_skew_s: float = 5.0
    sensor_downs: list[SensorDown] = field(default_factory=list)
    tracks_lost: list[TrackLost] = field(default_factory=list)
    source: str = ""

    def fault_events(self) -> list[dict]:
        """Every planned fault as a record for reports: kind, subject, start and end (unix s)."""
        out: list[dict] = []
        for o in self.links.outages:
            kind = "hub_down" if o.nation == self.links.hub else "link_down"
            out.append({"kind": kind, "subject": o.nation, "start_unix_s": o.start_unix_s,
                        "end_unix_s": o.end_unix_s})
        for n, off in self.links.clock_offsets_s.items():
            out.append({"kind": "clock_offset", "subject": n, "offset_s": off, "start_unix_s": None,
                        "end_unix_s": None})
        for d in self.sensor_downs:
            out.append({"kind": "sensor_down", "subject": d.sensor, "start_unix_s": d.start_unix_s,
                        "end_unix_s": d.end_unix_s})
        for lost in self.tracks_lost:
            out.append({"kind": "track_lost", "subject": lost.target, "start_unix_s": lost.t_unix_s,
                        "end_unix_s": None})
        return out


class _Reader:
    """Checked access to one mapping of the plan, naming file, line and field on errors."""

    def __init__(self, data: Any, *, source: str, where: str, line: int | None = None,
                 lines: Mapping[str, int] | None = None) -> None:
        if not isinstance(data, Mapping):
            raise InputError(f"expected a mapping, got {data!r}", source=source, line=line, field=where)
        self.data, self.source, self.where, self.line, self.lines = data, source, where, line, lines or {}

    def fail(self, key: str, why: str) -> InputError:
        return InputError(why, source=self.source, line=self.lines.get(key, self.line),
                          field=f"{self.where}.{key}" if self.where else key)

    def number(self, key: str, lo: float, hi: float, default: float | None = None) -> float:
        value = self.data.get(key)
        if value is None:
            if default is None:
                raise self.fail(key, "missing required field")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not lo <= float(value) <= hi:
            raise self.fail(key, f"{value!r} is out of range [{lo:g}, {hi:g}]")
        return float(value)

    def nation(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value not in NATIONS:
            raise self.fail(key, f"unknown nation {value!r}; known: {', '.join(NATIONS)}")
        return str(value)

    def unknown_keys(self, known: set[str]) -> None:
        extra = sorted(set(map(str, self.data)) - known)
        if extra:
            raise self.fail(extra[0], f"unknown field; known: {', '.join(sorted(known))}")


def plan_from_scenario(sc: Scenario, *, source: str = "", text: str = "") -> ExercisePlan:
    """Read the exercise sections of a loaded scenario (text: the file's text, for line numbers)."""
    t0 = min(ev.t_unix_s for ev in sc.launches)
    extra = sc.extra
    top = _Reader(extra, source=source, where="")
    name = str(extra.get("exercise") or sc.name)
    step_s = top.number("step_s", 0.1, 60.0, default=1.0)
    links = LinkModel()
    skew = 5.0
    net = extra.get("network")
    if net is not None:
        r = _Reader(net, source=source, where="network")
        r.unknown_keys({"hub", "latency_s", "future_skew_s", "outages", "clock_offsets_s"})
        hub = r.nation("hub", "us")
        latency = r.number("latency_s", 0.0, 600.0, default=0.0)
        skew = r.number("future_skew_s", 0.0, 3600.0, default=5.0)
        outages = []
        raw = net.get("outages") or []
        if not isinstance(raw, list):
            raise r.fail("outages", "expected a list of {nation, start_s, end_s}")
        for i, item in enumerate(raw):
            o = _Reader(item, source=source, where=f"network.outages[{i}]")
            o.unknown_keys({"nation", "start_s", "end_s"})
            start = o.number("start_s", -MAX_T_S, MAX_T_S)
            end = o.number("end_s", -MAX_T_S, MAX_T_S)
            if end <= start:
                raise o.fail("end_s", f"the outage ends ({end:g} s) before it starts ({start:g} s)")
            outages.append(LinkOutage(o.nation("nation"), t0 + start, t0 + end))
        offsets: dict[str, float] = {}
        raw_off = net.get("clock_offsets_s") or {}
        off = _Reader(raw_off, source=source, where="network.clock_offsets_s")
        for key in raw_off:
            if key not in NATIONS:
                raise off.fail(str(key), f"unknown nation {key!r}; known: {', '.join(NATIONS)}")
            offsets[str(key)] = off.number(key, -3600.0, 3600.0)
        links = LinkModel(hub=hub, latency_s=latency, outages=tuple(outages), clock_offsets_s=offsets)

    item_lines, key_lines = sequence_lines(text, "injects") if text else ([], [])
    downs: list[SensorDown] = []
    lost: list[TrackLost] = []
    raw_injects = extra.get("injects") or []
    if not isinstance(raw_injects, list):
        raise InputError("expected a list of injects", source=source, field="injects")
    launch_ids = {ev.id for ev in sc.launches}
    for i, item in enumerate(raw_injects):
        r = _Reader(item, source=source, where=f"injects[{i}]",
                    line=item_lines[i] if i < len(item_lines) else None,
                    lines=key_lines[i] if i < len(key_lines) else None)
        if "sensor_down" in item:
            r.unknown_keys({"sensor_down", "start_s", "end_s"})
            sid = str(item["sensor_down"])
            if sid not in sc.sensors:
                raise r.fail("sensor_down", f"no sensor {sid!r} in the scenario; known: {', '.join(sc.sensors)}")
            start = r.number("start_s", -MAX_T_S, MAX_T_S)
            end = r.number("end_s", -MAX_T_S, MAX_T_S, default=MAX_T_S)
            if end <= start:
                raise r.fail("end_s", f"the outage ends ({end:g} s) before it starts ({start:g} s)")
            downs.append(SensorDown(sid, t0 + start, t0 + end))
        elif "track_lost" in item:
            r.unknown_keys({"track_lost", "at_s"})
            target = str(item["track_lost"])
            if target.split("/")[0] not in launch_ids:
                raise r.fail("track_lost", f"{target!r} names no launch of the scenario "
                                           f"(known: {', '.join(sorted(launch_ids))}); use L1 or L1/warhead")
            lost.append(TrackLost(target, t0 + r.number("at_s", -MAX_T_S, MAX_T_S)))
        else:
            raise InputError("an inject needs sensor_down or track_lost", source=source,
                             line=item_lines[i] if i < len(item_lines) else None, field=f"injects[{i}]")
    return ExercisePlan(scenario=sc, name=name, t0_unix_s=t0, step_s=step_s, links=links, future_skew_s=skew,
                        sensor_downs=downs, tracks_lost=lost, source=source)


def load_plan(path: str | Path) -> ExercisePlan:
    """Load a scenario file with its exercise sections; InputError naming file, line and field."""
    sc = load_scenario(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        text = ""
    return plan_from_scenario(sc, source=str(path), text=text)


def apply_injects(sim: SimulationResult, plan: ExercisePlan) -> tuple[MeasurementLog, list[dict]]:
    """The simulated detections with the injects' detections removed, and what each inject removed.

    Returns the new log and one record per inject: its kind, subject, window and rows dropped.
    """
    log = sim.measurements
    keep_r = np.ones(len(log.radar), bool)
    keep_i = np.ones(len(log.ir), bool)
    effects: list[dict] = []
    for d in plan.sensor_downs:
        k = log.sensor_ids.index(d.sensor)
        hit_r = (log.radar.sensor_idx == k) & (log.radar.t_unix_s >= d.start_unix_s) & (
            log.radar.t_unix_s < d.end_unix_s)
        hit_i = (log.ir.sensor_idx == k) & (log.ir.t_unix_s >= d.start_unix_s) & (log.ir.t_unix_s < d.end_unix_s)
        keep_r &= ~hit_r
        keep_i &= ~hit_i
        effects.append({"kind": "sensor_down", "subject": d.sensor, "start_unix_s": d.start_unix_s,
                        "end_unix_s": d.end_unix_s, "dropped": int(hit_r.sum() + hit_i.sum())})
    ids = sim.paths.object_ids
    for lost in plan.tracks_lost:
        objs = np.array([i for i, oid in enumerate(ids)
                         if oid == lost.target or sim.paths.launch[i] == lost.target], np.int32)
        hit_r = np.isin(sim.radar_object_idx, objs) & (log.radar.t_unix_s >= lost.t_unix_s)
        hit_i = np.isin(sim.ir_object_idx, objs) & (log.ir.t_unix_s >= lost.t_unix_s)
        keep_r &= ~hit_r
        keep_i &= ~hit_i
        effects.append({"kind": "track_lost", "subject": lost.target, "start_unix_s": lost.t_unix_s,
                        "end_unix_s": None, "dropped": int(hit_r.sum() + hit_i.sum())})
    out = MeasurementLog(list(log.sensor_ids), log.radar.take(keep_r), log.ir.take(keep_i), log.skips, log.source)
    return out, effects
