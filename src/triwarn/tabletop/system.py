"""What the system does during a tabletop exercise, computed before the seats play: the base scenario run by
the exercise engine (triwarn.exercise.engine: three national nodes over real NATS on the simulated clock,
status Exercise), recorded per nation as timed system events (launches detected, the warnings each node
issued) and as the operator pictures the existing picture feed makes (triwarn.api.picture_feed, used as it
is), so that the controller can pause, change speed and rewind without re-running the machines.

    timeline = await base_timeline(plan, out / "system")      # plan.base is None: an empty timeline
    timeline.picture_at("jp", 300.0)                           # Japan's picture at T+300 s (a dict)
"""

from __future__ import annotations

import bisect
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from triwarn.records.events import LaunchEvent
from triwarn.tabletop.plan import TabletopPlan

PICTURE_EVERY_S = 5.0  # a nation's picture is kept at this sim interval (what a seat sees between them: the last)
ALERT_LOG_KEPT = 30
# The base run ends once the flight is over (no node has held a track or an active warning for this many
# sim seconds, after the last launch): nothing happens in it after that, and the seats keep the last picture.
END_WHEN_OVER_S = 60.0


@dataclass(frozen=True)
class SystemEvent:
    """Something the system did, seen by one nation's seat: t_s after T0."""

    t_s: float
    nation: str
    kind: str  # launch_detected | warning
    text: str
    data: dict = field(default_factory=dict)


@dataclass
class SystemTimeline:
    events: list[SystemEvent] = field(default_factory=list)
    pictures: dict[str, list[tuple[float, dict]]] = field(default_factory=dict)
    sharing: list[dict] = field(default_factory=list)  # per node and area: first shelter shared vs alone (T+ s)
    info: dict = field(default_factory=dict)

    def picture_at(self, nation: str, t_s: float) -> dict | None:
        """The nation's latest picture at or before t_s (None before its first)."""
        pics = self.pictures.get(nation) or []
        i = bisect.bisect_right([p[0] for p in pics], t_s)
        return pics[i - 1][1] if i else None


def _slim(picture, t0: float) -> dict:
    """A picture for a seat's page: tracks without trails, the alerts, the latest alert-log entries, links."""
    d = msgspec.to_builtins(picture)
    for trk in d.get("tracks", []):
        trk.pop("trail", None)
    for imp in d.get("impacts", []):
        imp.pop("ground_track", None)
    d["alert_log"] = d.get("alert_log", [])[-ALERT_LOG_KEPT:]
    d["t_s"] = round(d["t_unix_s"] - t0, 3)
    return d


def _warning_text(nation: str, m) -> str:
    by_state: dict[str, list[str]] = {}
    for a in m.areas:
        by_state.setdefault(a.state, []).append(a.code)
    parts = "; ".join(f"{s} {', '.join(codes)}" for s, codes in by_state.items())
    # The incident's name holds the run's random tag: left out, so that a scripted run is deterministic.
    return f"{nation.upper()} node issued {m.msg_type}: {parts or 'no areas'}"


class _Recorder:
    def __init__(self, plan: TabletopPlan, feed, nations: list[str]) -> None:
        self.t0 = plan.t0_unix_s
        self.feed = feed
        self.timeline = SystemTimeline(pictures={n: [] for n in nations})
        self._launch_seen: set[tuple[str, str]] = set()
        self._next_pic: dict[str, float] = dict.fromkeys(nations, -1e18)
        self.picture_s = 0.0  # wall seconds spent in the picture feed (the benchmark prints it)

    def on_step(self, nation: str, res) -> None:
        t_s = res.t_unix_s - self.t0
        ev = self.timeline.events
        for e in res.events:
            if isinstance(e, LaunchEvent):
                key = (nation, e.launch_id if getattr(e, "launch_id", None) else e.track)
                if key not in self._launch_seen:
                    self._launch_seen.add(key)
                    ev.append(SystemEvent(t_s, nation, "launch_detected",
                                          f"{nation.upper()} node: launch detected at {e.lat_deg:.2f}, {e.lon_deg:.2f}",
                                          {"lat_deg": e.lat_deg, "lon_deg": e.lon_deg}))
        for m in res.warnings:
            ev.append(SystemEvent(t_s, nation, "warning", _warning_text(nation, m),
                                  {"msg_type": m.msg_type, "areas": {a.code: a.state for a in m.areas}}))
        t_wall = time.perf_counter()
        pic = self.feed.picture(nation, res)
        self.picture_s += time.perf_counter() - t_wall
        if res.t_unix_s >= self._next_pic.get(nation, 0.0):
            self._next_pic[nation] = res.t_unix_s + PICTURE_EVERY_S
            self.timeline.pictures.setdefault(nation, []).append((t_s, _slim(pic, self.t0)))


def compile_system_injects(base, plan: TabletopPlan) -> list[dict]:
    """Put the MSEL's scheduled system injects (rows with `system:`) into the base scenario's ExercisePlan
    before it runs: a sensor down and a nation's link down become its faults (exercise.plan.SensorDown,
    node.lockstep.LinkOutage), a second launch one more scheduled launch, each from the inject's time.
    Changes base in place; returns one record per inject for the report. Ad hoc injects and the
    controller's "send now" stay narrative: the base run is computed before the session."""
    from triwarn.exercise.plan import SensorDown
    from triwarn.node.lockstep import LinkOutage
    from triwarn.sensors.scenario import ScheduledLaunch

    done: list[dict] = []
    for inj in plan.msel:
        sys_inj = inj.system
        if sys_inj is None:
            continue
        start = plan.t0_unix_s + inj.time_s
        rec = {"inject": inj.number, "kind": sys_inj.kind, "subject": sys_inj.subject, "start_s": inj.time_s}
        if sys_inj.kind == "sensor_down":
            base.sensor_downs.append(SensorDown(sys_inj.subject, start, start + sys_inj.duration_s))
            rec["end_s"] = inj.time_s + sys_inj.duration_s
        elif sys_inj.kind == "link_down":
            outage = LinkOutage(sys_inj.subject, start, start + sys_inj.duration_s)
            base.links = dataclasses.replace(base.links, outages=(*base.links.outages, outage))
            rec["end_s"] = inj.time_s + sys_inj.duration_s
        else:
            like = next(ev for ev in base.scenario.launches if ev.id == sys_inj.like)
            over = dict(sys_inj.overrides)
            if "aim_lat_deg" in over:
                over["azimuth_deg"] = None
            spec = dataclasses.replace(like.spec, **over)
            base.scenario.launches.append(ScheduledLaunch(sys_inj.subject, start, spec, like.source, like.line,
                                                          f"msel inject {inj.number}"))
            rec |= {"like": sys_inj.like, **dict(sys_inj.overrides)}
        done.append(rec)
    return done


async def base_timeline(plan: TabletopPlan, out: Path, *, seed: int = 0) -> SystemTimeline:
    """Run the base scenario through the exercise engine (as fast as possible, to the tabletop's end at the
    latest) and return what each nation's system did, T+ seconds after the tabletop's T0."""
    if plan.base is None:
        return SystemTimeline(pictures={n: [] for n in plan.nations})
    from triwarn.api.picture import NATIONS, PictureHub
    from triwarn.api.picture_feed import PictureFeed
    from triwarn.exercise.engine import ExerciseOptions, exercise_async
    from triwarn.exercise.plan import load_plan
    from triwarn.tracking.kernel_cache import compile_kernels

    compile_kernels(quiet=True)
    base = load_plan(plan.base)
    base.name = plan.exercise  # every CAP message names the tabletop exercise
    compiled = compile_system_injects(base, plan)
    runners: dict = {}
    feed = PictureFeed(PictureHub(NATIONS), plan.exercise, base.links, runners=runners)
    rec = _Recorder(plan, feed, list(NATIONS))
    opts = ExerciseOptions(speed=None, seed=seed, end_after_s=plan.duration_s, progress=False,
                           end_when_over_s=END_WHEN_OVER_S, on_step=[rec.on_step], runners=runners)
    metrics = await exercise_async(base, out, opts)
    t0 = plan.t0_unix_s

    def rel(t):
        return None if t is None else round(t - t0, 1)

    rec.timeline.sharing = [
        {"node": r["node"], "area": r["area"], "shelter_shared_s": rel(r.get("first_shelter_shared_unix_s")),
         "shelter_alone_s": rel(r.get("first_shelter_alone_unix_s")), "gain_s": r.get("gain_s"),
         "notice_shared_s": rel(r.get("first_notice_shared_unix_s")),
         "notice_alone_s": rel(r.get("first_notice_alone_unix_s"))}
        for r in metrics.get("first_alerts", [])]
    info = metrics["exercise"]
    rec.timeline.info = {"base": str(plan.base), "scenario": info.get("scenario"),
                         "cap_messages": info.get("cap_messages"), "measurements": info.get("measurements"),
                         "wall_s": round(metrics["wall_s"].get("shared_run", 0.0), 1), "folder": str(out),
                         "picture_feed_s": round(rec.picture_s, 2), "system_injects": compiled,
                         "ended_s": rel(info["ended"]["t_unix_s"]), "ended": info["ended"]["reason"]}
    return rec.timeline
