"""A tabletop exercise's files: the scenario (scenario.yaml), its MSEL (msel.yaml) and its objectives
(objectives.yaml), read and checked at this edge. Times are seconds after T0 (the first launch of the base
scenario, or `t0_utc`); a time may also be written "MM:SS" or "HH:MM:SS".

    plan = load_tabletop("src/triwarn/scenarios/tabletop/guam-nuclear/scenario.yaml")   # or a bundled name
    plan.msel[0].to         # ("us",): the seats an inject goes to

Every error names the file, the line and the field, e.g.
`msel.yaml:14: field 'msel[2].to': unknown seat 'fr'; seats: controller, us, jp, kr, observer-1`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from triwarn.errors import InputError
from triwarn.records import NATIONS
from triwarn.tabletop.yamlfile import Where, load_yaml

CONTROLLER = "controller"
OBSERVER_PREFIX = "observer-"
INJECT_TYPES = ("sensor_outage", "link_down", "false_report", "second_launch", "media_query", "partner_request",
                "detonation", "information")
# HSEEP's four ratings of an objective's performance.
RATINGS = {"P": "Performed without challenges", "S": "Performed with some challenges",
           "M": "Performed with major challenges", "U": "Unable to be performed"}
MAX_DURATION_S = 6 * 3600.0
_CLOCK_RE = re.compile(r"^(?:T\+)?(?:(\d+):)?(\d{1,2}):(\d{2})$")


# The inject types a scheduled MSEL row may also play into the base run (its `system:` field), and the
# fault each becomes there (triwarn.tabletop.system compiles them before the base run).
SYSTEM_INJECT_TYPES = {"sensor_outage": "sensor_down", "link_down": "link_down", "second_launch": "launch"}
LAUNCH_OVERRIDES = ("aim_lat_deg", "aim_lon_deg", "apogee_km", "range_km")


@dataclass(frozen=True)
class SystemInject:
    """What a scheduled inject does to the base run, from the inject's time: a sensor down (subject: its
    id) or a nation's link down (subject: the nation) for duration_s; or a launch (subject: its new id)
    flown like the base scenario's launch `like`, with the figures in `overrides` changed."""

    kind: str  # sensor_down | link_down | launch
    subject: str
    duration_s: float | None = None
    like: str | None = None
    overrides: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Inject:
    """One MSEL row: number, scenario time, type, from and to (seat ids), description, expected action and
    the objective it exercises; system: what it does to the base run (scheduled injects only)."""

    number: int
    time_s: float
    type: str
    sender: str
    to: tuple[str, ...]
    description: str
    expected_action: str
    objective: str | None
    line: int | None = None
    system: SystemInject | None = None


@dataclass(frozen=True)
class Objective:
    """An exercise objective and its evaluation guide: the criteria an evaluator checks; target_latency_s
    is how soon after an inject its seats should have decided."""

    id: str
    title: str
    capability: str
    criteria: tuple[str, ...]
    target_latency_s: float = 300.0


@dataclass(frozen=True)
class Detonation:
    """The nuclear-emergency scenario's stated event (exercise only): where and when, the yield, and the
    wind that carries the fallout (the direction it blows toward, degrees clockwise from north)."""

    lat_deg: float
    lon_deg: float
    yield_kt: float
    at_s: float
    wind_to_deg: float
    wind_speed_m_s: float
    issuer: str


@dataclass
class TabletopPlan:
    name: str
    exercise: str
    source: str
    folder: Path
    t0_unix_s: float
    duration_s: float
    nations: tuple[str, ...]
    observers: tuple[str, ...]
    msel: list[Inject]
    objectives: list[Objective]
    base: Path | None = None
    detonation: Detonation | None = None
    sources: dict[str, str] = field(default_factory=dict)  # which file each part came from

    @property
    def seats(self) -> tuple[str, ...]:
        return (CONTROLLER, *self.nations, *(OBSERVER_PREFIX + o for o in self.observers))

    def inject(self, number: int) -> Inject | None:
        return next((i for i in self.msel if i.number == number), None)

    def decision_points(self) -> list[float]:
        """The times the controller may rewind to: T0 and each inject's time."""
        return sorted({0.0, *(i.time_s for i in self.msel)})


def bundled_tabletop_dir() -> Path:
    return Path(str(resources.files("triwarn") / "scenarios" / "tabletop"))


def resolve_tabletop(arg: str | Path) -> Path:
    """The scenario.yaml a command-line argument names: a file, a folder holding scenario.yaml, or the name
    of a bundled tabletop scenario."""
    p = Path(arg)
    if p.is_file():
        return p
    if p.is_dir() and (p / "scenario.yaml").is_file():
        return p / "scenario.yaml"
    bundled = bundled_tabletop_dir() / str(arg) / "scenario.yaml"
    if "/" not in str(arg) and bundled.is_file():
        return bundled
    known = sorted(d.name for d in bundled_tabletop_dir().iterdir() if (d / "scenario.yaml").is_file())
    raise InputError(f"no such tabletop scenario (a file, a folder with scenario.yaml, or one of {known})",
                     source=str(arg))


def parse_time(w: Where, key: str, *, default: float | None = None) -> float:
    """A scenario time in seconds after T0 (a number, or "MM:SS" / "HH:MM:SS", optionally "T+..."); negative
    times are refused."""
    value = w.get(key, default)
    if isinstance(value, str):
        m = _CLOCK_RE.match(value.strip())
        if not m:
            if value.strip().startswith("-") or value.strip().startswith("T-"):
                raise w.error(f"negative time {value!r}: times are seconds after T0, >= 0", key)
            raise w.error(f"expected seconds after T0 or MM:SS / HH:MM:SS, got {value!r}", key)
        h, mnt, s = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
        if s >= 60 or (m.group(1) is not None and mnt >= 60):
            raise w.error(f"not a valid clock time {value!r}", key)
        return float(h * 3600 + mnt * 60 + s)
    t = w.number(key, default)
    if t < 0:
        raise w.error(f"negative time {t:g} s: times are seconds after T0, >= 0", key)
    return t


def _seat_list(w: Where, key: str, seats: tuple[str, ...], *, allow_all: bool) -> tuple[str, ...]:
    names = w.text_list(key)
    if allow_all and names == ["all"]:
        return tuple(s for s in seats if s != CONTROLLER)
    if not names:
        raise w.error("names no seat", key)
    for n in names:
        if n not in seats:
            raise w.error(f"unknown seat {n!r}; seats: {', '.join(seats)}", key)
    return tuple(dict.fromkeys(names))


def parse_msel(data, lines, source: str, seats: tuple[str, ...], objectives: set[str],
               duration_s: float, base=None) -> list[Inject]:
    """The MSEL's rows, sorted by time; base: the base scenario's ExercisePlan (checks `system:` fields)."""
    top = Where(data, source, lines, (), known={"msel"})
    rows = top.get("msel")
    if not isinstance(rows, list):
        raise top.error("expected a list of injects", "msel")
    out: list[Inject] = []
    seen: set[int] = set()
    known = {"number", "time", "type", "from", "to", "description", "expected_action", "objective", "system"}
    for i in range(len(rows)):
        w = top.child("msel", i, known=known)
        num = w.number("number", minimum=1, maximum=100000)
        if num != int(num) or int(num) in seen:
            raise w.error(f"inject number {num:g} must be a whole number, unique in the MSEL", "number")
        seen.add(int(num))
        t = parse_time(w, "time")
        if t > duration_s:
            raise w.error(f"time {t:g} s is after the exercise's end ({duration_s:g} s)", "time")
        kind = w.text("type")
        if kind not in INJECT_TYPES:
            raise w.error(f"unknown inject type {kind!r}; one of {', '.join(INJECT_TYPES)}", "type")
        sender = w.text("from", CONTROLLER)
        if sender not in seats:
            raise w.error(f"unknown seat {sender!r}; seats: {', '.join(seats)}", "from")
        to = _seat_list(w, "to", seats, allow_all=True)
        obj = w.get("objective")
        if obj is not None:
            obj = w.text("objective")
            if obj not in objectives:
                raise w.error(f"unknown objective {obj!r}; objectives: {', '.join(sorted(objectives))}", "objective")
        system = _system_inject(w, kind, int(num), base) if w.has("system") else None
        out.append(Inject(int(num), t, kind, sender, to, w.text("description"), w.text("expected_action", ""),
                          obj, w.line(None), system))
    return sorted(out, key=lambda r: (r.time_s, r.number))


def _system_inject(row: Where, kind: str, number: int, base) -> SystemInject:
    """The `system:` field of an MSEL row, checked against the base scenario (base: its ExercisePlan)."""
    if kind not in SYSTEM_INJECT_TYPES:
        raise row.error(f"a {kind} inject stays narrative; only {', '.join(SYSTEM_INJECT_TYPES)} injects "
                        "can change the base run", "system")
    if base is None:
        raise row.error("changes the base run, but the tabletop scenario has no base scenario", "system")
    fault = SYSTEM_INJECT_TYPES[kind]
    if fault == "sensor_down":
        w = row.child("system", known={"sensor", "for"})
        sensor = w.text("sensor", max_len=100)
        if sensor not in base.scenario.sensors:
            raise w.error(f"no sensor {sensor!r} in the base scenario; known: {', '.join(base.scenario.sensors)}",
                          "sensor")
        return SystemInject(fault, sensor, _duration(w))
    if fault == "link_down":
        w = row.child("system", known={"nation", "for"})
        nation = w.text("nation", max_len=10)
        if nation not in NATIONS:
            raise w.error(f"unknown nation {nation!r}; nations: {', '.join(NATIONS)}", "nation")
        return SystemInject(fault, nation, _duration(w))
    w = row.child("system", known={"launch", "like", *LAUNCH_OVERRIDES})
    launches = {ev.id: ev for ev in base.scenario.launches}
    like = w.text("like", next(iter(launches)), max_len=40)
    if like not in launches:
        raise w.error(f"no launch {like!r} in the base scenario; known: {', '.join(launches)}", "like")
    if not hasattr(launches[like].spec, "apogee_km"):
        raise w.error(f"launch {like!r} is a satellite launch: a second launch copies a ballistic one", "like")
    new_id = w.text("launch", f"INJ{number}", max_len=40)
    if new_id in launches or not re.fullmatch(r"[A-Za-z0-9_-]+", new_id):
        raise w.error(f"launch id {new_id!r} must be new and made of letters, digits, '-' and '_'", "launch")
    limits = {"aim_lat_deg": (-90.0, 90.0), "aim_lon_deg": (-180.0, 360.0), "apogee_km": (1.0, 40000.0),
              "range_km": (1.0, 20000.0)}
    over = tuple((k, w.number(k, minimum=limits[k][0], maximum=limits[k][1])) for k in LAUNCH_OVERRIDES
                 if w.has(k))
    if sum(k in dict(over) for k in ("aim_lat_deg", "aim_lon_deg")) == 1:
        raise w.error("give both aim_lat_deg and aim_lon_deg, or neither", "aim_lat_deg")
    return SystemInject(fault, new_id, None, like, over)


def _duration(w: Where) -> float:
    d = parse_time(w, "for")
    if not 0 < d <= MAX_DURATION_S:
        raise w.error(f"duration must be in (0, {MAX_DURATION_S:g}] s", "for")
    return d


def parse_objectives(data, lines, source: str) -> list[Objective]:
    top = Where(data, source, lines, (), known={"objectives"})
    rows = top.get("objectives")
    if not isinstance(rows, list) or not rows:
        raise top.error("expected a non-empty list of objectives", "objectives")
    out: list[Objective] = []
    for i in range(len(rows)):
        w = top.child("objectives", i, known={"id", "title", "capability", "criteria", "target_latency_s"})
        oid = w.text("id", max_len=40)
        if any(o.id == oid for o in out):
            raise w.error(f"objective {oid!r} is listed twice", "id")
        out.append(Objective(oid, w.text("title"), w.text("capability", ""), tuple(w.text_list("criteria", [])),
                             w.number("target_latency_s", 300.0, minimum=1.0, maximum=MAX_DURATION_S)))
    return out


def _detonation(w: Where, nations: tuple[str, ...], duration_s: float) -> Detonation:
    d = w.child("detonation", known={"lat_deg", "lon_deg", "yield_kt", "at", "wind_to_deg", "wind_speed_m_s",
                                     "issuer"})
    at = parse_time(d, "at")
    if at > duration_s:
        raise d.error(f"time {at:g} s is after the exercise's end ({duration_s:g} s)", "at")
    issuer = d.text("issuer", nations[0])
    if issuer not in nations:
        raise d.error(f"unknown nation {issuer!r}; nations: {', '.join(nations)}", "issuer")
    return Detonation(d.number("lat_deg", minimum=-90, maximum=90), d.number("lon_deg", minimum=-180, maximum=180),
                      d.number("yield_kt", minimum=0.001, maximum=100000.0), at,
                      d.number("wind_to_deg", minimum=0.0, maximum=360.0),
                      d.number("wind_speed_m_s", minimum=0.0, maximum=100.0), issuer)


def _t0(w: Where, base_plan) -> float:
    if w.has("t0_utc"):
        text = w.text("t0_utc")
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise w.error(f"expected an ISO 8601 time like 2024-01-15T01:00:00Z, got {text!r}", "t0_utc") from None
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    if base_plan is None:
        raise w.error("give t0_utc or a base scenario", "t0_utc")
    return base_plan.t0_unix_s


def load_tabletop(arg: str | Path) -> TabletopPlan:
    """Read a tabletop scenario and the MSEL and objectives files it names (paths relative to it)."""
    path = resolve_tabletop(arg)
    data, lines = load_yaml(path)
    src = str(path)
    w = Where(data, src, lines, (), known={"name", "exercise", "base", "t0_utc", "duration", "nations",
                                           "observers", "msel", "objectives", "detonation"})
    base = None
    if w.has("base"):
        from triwarn.sensors.scenario import resolve_scenario

        ref = w.text("base")
        local = path.parent / ref
        try:
            base = local if local.is_file() else resolve_scenario(ref)
        except InputError as exc:
            raise w.error(f"base scenario: {exc.reason}", "base") from None
    duration = parse_time(w, "duration", default=1800.0)
    if not 0 < duration <= MAX_DURATION_S:
        raise w.error(f"duration must be in (0, {MAX_DURATION_S:g}] s", "duration")
    nations = tuple(w.text_list("nations", list(NATIONS)))
    for n in nations:
        if n not in NATIONS:
            raise w.error(f"unknown nation {n!r}; nations: {', '.join(NATIONS)}", "nations")
    observers = tuple(w.text_list("observers", []))
    for o in observers:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", o):
            raise w.error(f"observer name {o!r}: lower-case letters, digits and '-' only", "observers")
    name = w.text("name")
    exercise = w.text("exercise", re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-").upper() or "TABLETOP")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,60}", exercise):
        raise w.error(f"exercise name {exercise!r}: letters, digits, '-' and '_' only", "exercise")
    obj_path = path.parent / w.text("objectives", "objectives.yaml")
    objectives = parse_objectives(*load_yaml(obj_path), str(obj_path))
    plan = TabletopPlan(name=name, exercise=exercise, source=src, folder=path.parent, t0_unix_s=0.0,
                        duration_s=duration, nations=nations, observers=observers, msel=[], objectives=objectives,
                        base=base)
    base_plan = None
    if base is not None:
        from triwarn.exercise.plan import load_plan

        base_plan = load_plan(base)
    msel_path = path.parent / w.text("msel", "msel.yaml")
    plan.msel = parse_msel(*load_yaml(msel_path), str(msel_path), plan.seats, {o.id for o in objectives}, duration,
                           base_plan)
    if w.has("detonation"):
        plan.detonation = _detonation(w, nations, duration)
    plan.t0_unix_s = _t0(w, base_plan)
    plan.sources = {"scenario": src, "msel": str(msel_path), "objectives": str(obj_path)}
    return plan
