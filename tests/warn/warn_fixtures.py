"""Small hand-made geography and event builders for the warning tests.

The areas are rectangles near the real prefectures (lon/lat degrees), enough to judge passage; the real
areas dataset is triwarn.geo.areas, built elsewhere.
"""

from __future__ import annotations

from shapely.geometry import MultiPolygon, box

from triwarn.warn.reader import read_events

T0 = 1_664_835_720.0  # 2022-10-03T22:22:00Z, 07:22 JST on 4 October
EXERCISE = "Orange-Sky-1"

AREAS = {
    "JP-01": box(139.3, 41.4, 145.9, 45.6),
    "JP-02": box(140.0, 40.2, 141.7, 41.35),
    "JP-03": box(140.6, 38.7, 142.1, 40.15),
    "JP-05": box(139.7, 38.9, 140.55, 40.15),
    # Tokyo: the mainland plus two small islands far to the south
    "JP-13": MultiPolygon(
        [box(138.9, 35.5, 139.9, 35.9), box(139.35, 34.05, 139.42, 34.12), box(142.1, 27.05, 142.22, 27.12)]
    ),
}


def lon_at(t: float) -> float:
    """The test missile W1 flies due east along 40.9N at about 3 km/s from the launch point 126.4E."""
    return 126.4 + (t - T0) * 0.035


def launch(t=T0 + 20.0, **kw):
    return {
        "type": "launch",
        "t": t,
        "lat_deg": 40.6,
        "lon_deg": 126.4,
        "time_unix_s": T0,
        "uncertainty_m": 2000.0,
        **kw,
    }


def pred(t, track="W1", lat=40.9, lon=170.0, impact_t=T0 + 1300.0, **kw):
    return {
        "type": "impact_prediction",
        "t": t,
        "track": track,
        "lat_deg": lat,
        "lon_deg": lon,
        "time_unix_s": impact_t,
        "semi_major_m": 60_000.0,
        "semi_minor_m": 20_000.0,
        "orientation_deg": 88.0,
        "confidence": 0.95,
        "powered": False,
        **kw,
    }


def risk(t, area, p, track="W1", kind="overflight", enter=None, **kw):
    return {
        "type": "area_risk",
        "t": t,
        "track": track,
        "area": area,
        "kind": kind,
        "probability": p,
        "enter_time_unix_s": enter,
        **kw,
    }


def obs(t, track="W1", lat=40.9, lon=None, alt_m=400_000.0, status="alive", **kw):
    return {
        "type": "track",
        "t": t,
        "track": track,
        "lat_deg": lat,
        "lon_deg": lon_at(t) if lon is None else lon,
        "alt_m": alt_m,
        "status": status,
        **kw,
    }


def with_exercise(events, name=EXERCISE):
    return [{**e, "exercise": name} for e in events]


def feed(machine, events, now):
    """Step the machine with event dicts, read at the file edge first (checked, admitted by its issuer)."""
    return machine.step(read_events(events, machine.issuer), now)


def run(machine, timeline, start, stop, dt=1.0):
    """Step the machine each dt seconds from start to stop; events in timeline[t] are given at t.

    Returns [(t, message)] in order of issue.
    """
    out = []
    t = start
    while t <= stop + 1e-9:
        events = [e for tt in sorted(timeline) if t - dt < tt <= t for e in timeline[tt]]
        out += [(t, m) for m in feed(machine, events, t)]
        t += dt
    return out


def states(msg):
    """{code: state} of a message."""
    return {a.code: a.state for a in msg.areas}


def observe(tl: dict, last_obs_t: float, lost_at: float | None = None) -> None:
    """Add W1's observations to timeline tl: every 5 s from T0+40 to last_obs_t, or until lost_at, when the
    radar reports it lost and nothing more is observed."""
    t = T0 + 40.0
    while t <= last_obs_t:
        if lost_at is not None and t >= lost_at:
            tl.setdefault(lost_at, []).append(obs(lost_at, status="lost"))
            return
        tl.setdefault(t, []).append(obs(t))
        t += 5.0


def overflight_timeline(*, lost_at=None, last_obs_t=T0 + 700.0, extra=None):
    """W1 launched at T0 flies east over JP-02 (and close to JP-03), observed every 5 s from T0+40.

    Assessment: from T0+60 JP-02 is under the path (0.9) and from T0+90 JP-03 too (0.3), every 10 s,
    until each is behind the missile. With lost_at, radar loses W1 then and nothing more is observed.
    """
    tl: dict[float, list] = {T0 + 20.0: [launch()]}
    observe(tl, last_obs_t, lost_at)
    t = T0 + 60.0
    stop = lost_at if lost_at is not None else T0 + 900.0
    while t < stop:
        cycle = [pred(t)]
        if lon_at(t) < 141.7:
            cycle.append(risk(t, "JP-02", 0.9, enter=T0 + 390.0))
        if t >= T0 + 90.0 and lon_at(t) < 142.1:
            cycle.append(risk(t, "JP-03", 0.3, enter=T0 + 405.0))
        tl.setdefault(t, []).extend(cycle)
        t += 10.0
    for tt, evs in (extra or {}).items():
        tl.setdefault(tt, []).extend(evs)
    return {k: with_exercise(v) for k, v in tl.items()}


def consumer_view(messages) -> dict[str, str]:
    """Each area's state as a CAP consumer holds it after the messages, in order: an Update or Cancel
    supersedes every message it references (CAP 1.2, 3.2.1 msgType), the messages not superseded stand,
    and an area's state is that of the standing message naming it. Fails when two standing messages name
    one area (the consumer could not tell which holds) or a message references one not sent before it
    (two messages of one step may both supersede the message that named their areas)."""
    standing: dict[str, object] = {}
    sent: set[str] = set()
    for m in messages:
        for r in m.references:
            assert r.identifier in sent, f"{m.identifier} references {r.identifier}, not sent before"
            standing.pop(r.identifier, None)
        sent.add(m.identifier)
        if m.msg_type != "Cancel":
            standing[m.identifier] = m
    view: dict[str, str] = {}
    for m in standing.values():
        for code, state in states(m).items():
            assert code not in view, f"{code} named by two standing messages"
            view[code] = state
    return view
