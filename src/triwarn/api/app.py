"""The operator API of a node: REST over the latest pictures, an SSE push of deltas, and the web UI.

`create_app(hub)` serves every nation's view the hub holds (one nation on a national node, all three in
the demo). With `security` (triwarn.api.guard.ConsoleSecurity) every request passes the console's gate
(Host and Origin checks, connection limits, sessions; see guard.py) and the console's routes are added
(login, logout, the operator's Cancel: console_routes.py); a session sees only its nations' views.
Without it the API is open: for tests and previews on loopback only (the node and the demo always pass one).

JSON bodies are msgspec-encoded `triwarn.api.picture` structs; their JSON Schemas go into the
generated OpenAPI (`/openapi.json`) so clients and the schema-driven tests check the same contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.resources
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

import msgspec
from fastapi import FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from triwarn.api.console_routes import add_console_routes
from triwarn.api.guard import ConsoleGuard, ConsoleSecurity, session_of
from triwarn.api.picture import (
    NATIONS,
    AlertLogEntry,
    AreaAlert,
    IncidentView,
    Picture,
    PictureDelta,
    PictureHub,
    TrackView,
)
from triwarn.geo.areas_names import AREA_NAMES

log = logging.getLogger(__name__)

ATOM_MEDIA_TYPE = "application/atom+xml"
SSE_KEEPALIVE_S = 15.0
AREA_SIMPLIFY_DEG = 0.01  # about 1 km: prefecture lines at map scale, a fraction of the full data's size
AREA_DECIMALS = 3  # coordinates rounded to about 100 m: half the bytes, nothing visible lost

NationParam = Annotated[Literal["us", "jp", "kr"], Query(description="Whose view: us, jp or kr.")]


class NationInfo(msgspec.Struct, frozen=True):
    """A nation's view as the UI lists it: code, English name, local time zone (IANA) and its label;
    when its first alert was issued (null before any) and the exercise's T0 (null when live or unknown),
    so that the page can open on the view that alerted first and say so."""

    code: Literal["us", "jp", "kr"]
    name: str
    local_tz: str
    local_label: str
    has_picture: bool
    first_alert_unix_s: float | None = None
    t0_unix_s: float | None = None


class Health(msgspec.Struct, frozen=True):
    """Liveness: ok, the nations served, the sim time of each view's latest picture (null if none), open
    streams, and whether the run feeding the views has ended."""

    ok: bool
    nations: list[str]
    picture_t_unix_s: dict[str, float | None]
    subscribers: int
    ended: bool = False


class Problem(msgspec.Struct, frozen=True):
    """An error body: what was wrong."""

    detail: str


_NATION_INFO = {
    "us": ("United States", "Pacific/Honolulu", "HST"),
    "jp": ("Japan", "Asia/Tokyo", "JST"),
    "kr": ("Republic of Korea", "Asia/Seoul", "KST"),
}

_SCHEMA_TYPES = (
    Picture,
    PictureDelta,
    NationInfo,
    Health,
    Problem,
    TrackView,
    AreaAlert,
    AlertLogEntry,
    IncidentView,
)
_ENCODER = msgspec.json.Encoder()


def _json(obj: Any, status_code: int = 200) -> Response:
    return Response(_ENCODER.encode(obj), status_code=status_code, media_type="application/json")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_NOT_FOUND = {404: _json_content(_ref("Problem"), "No picture of this nation's view yet.")}


def _area_features(areas: Any) -> bytes:
    """GeoJSON FeatureCollection of the alert areas' land outlines, simplified, lon/lat degrees."""
    import numpy as np
    import shapely

    features = []
    codes = list(getattr(areas, "codes", None) or AREA_NAMES)
    for code in codes:
        try:
            geom = areas.geometry(code, "land")
        except (KeyError, ValueError):
            continue
        if geom is None or geom.is_empty:
            continue
        # RFC 7946 winding (exterior counter-clockwise); the page rewinds for d3-geo's spherical rule.
        simple = shapely.simplify(geom, AREA_SIMPLIFY_DEG, preserve_topology=True)
        simple = shapely.orient_polygons(shapely.transform(simple, lambda xy: np.round(xy, AREA_DECIMALS)))
        names = AREA_NAMES.get(code, (code, code, code))
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "name_en": names[0], "name_ja": names[1], "name_ko": names[2]},
                "geometry": shapely.geometry.mapping(simple),
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()


def _default_areas() -> Any:
    """The packaged area dataset (triwarn.geo.areas.AreaIndex); InputError when its data are missing."""
    from triwarn.geo.areas import AreaIndex

    return AreaIndex.load()


def static_dir() -> Any:
    """The folder of the built web UI inside the installed package."""
    return importlib.resources.files("triwarn.web") / "static"


class _Outlines:
    """The alert areas' outlines as GeoJSON bytes, built once in a thread (from `areas`, else the packaged
    AreaIndex): started at startup so that the first page load does not wait for it."""

    def __init__(self, areas: Any | None) -> None:
        self.areas = areas
        self.task: asyncio.Future | None = None
        self.body: bytes | None = None

    async def _build(self) -> bytes:
        index = self.areas
        if index is None:
            try:
                index = await asyncio.to_thread(_default_areas)
            except Exception as exc:  # a missing or broken dataset must not take the UI down
                log.warning("area outlines unavailable: %s", exc)
                index = None
        if index is None:
            return b'{"type":"FeatureCollection","features":[]}'
        return await asyncio.to_thread(_area_features, index)

    def start(self) -> asyncio.Future:
        if self.task is None:
            self.task = asyncio.ensure_future(self._build())
        return self.task

    async def get(self) -> bytes:
        if self.body is None:  # still being built (or first use without a lifespan, as in some test clients)
            self.body = await asyncio.shield(self.start())
        return self.body


def _latest(hub: PictureHub, nation: str) -> Picture | None:
    """The latest picture of a nation's view, None if none yet or the view is not served here."""
    return hub.latest(nation) if nation in hub.nations else None


def _no_picture(hub: PictureHub, nation: str) -> Response:
    if nation not in hub.nations:
        return _json(Problem(f"nation {nation!r} is not served here (served: {', '.join(hub.nations)})"), 404)
    return _json(Problem(f"no picture of the {nation!r} view yet"), 404)


def create_app(
    hub: PictureHub,
    *,
    cap_feed: Callable[[], Iterable[bytes] | bytes] | None = None,
    areas: Any | None = None,
    feed_url: str = "/api/cap/feed.atom",
    title: str = "triwarn",
    security: ConsoleSecurity | None = None,
    operators: Mapping[str, Any] | None = None,
    guard: bool = True,
) -> FastAPI:
    """The node's operator API and UI.

    hub: where the node publishes its pictures. cap_feed: returns the CAP documents issued so far (bytes
    of each `<alert>`; the Atom feed is built with triwarn.warn.feed), or a ready Atom document as bytes.
    areas: an object with `geometry(code, zone)` giving shapely geometries in lon/lat degrees (the
    packaged AreaIndex when None and installed; without one /api/areas.geojson is empty).
    security: the console's users, sessions, audit log and limits (None: open, tests only). operators:
    nation -> its node's runner, for the operator's Cancel (read at each request). guard False: the
    caller puts the gate (ConsoleGuard) around an outer app that mounts this one (node_app).
    """
    outlines = _Outlines(areas)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        outlines.start()
        yield
        await hub.close()  # let open SSE streams end so the server can stop

    app = FastAPI(
        title=f"{title} operator API",
        version="1",
        lifespan=lifespan,
        description="The shared picture of one node (or the demo's three), its alerts and links.",
    )
    app.state.hub = hub
    if security is not None:
        add_console_routes(app, security, operators)
        if guard:
            app.add_middleware(ConsoleGuard, security=security)
    else:
        @app.get("/api/me", include_in_schema=False)
        async def me_open() -> Response:
            return _json(None)  # an open console (tests, previews): no user, no operator panel
    _add_picture_routes(app, hub)
    _add_cap_and_map_routes(app, hub, cap_feed, outlines, title)
    _add_live_routes(app, hub)
    _add_ui_routes(app)
    app.openapi = functools.partial(_openapi, app)  # type: ignore[method-assign]
    return app


def _add_picture_routes(app: FastAPI, hub: PictureHub) -> None:
    """The latest picture of a view, whole or in parts: /api/nations, picture, tracks, incidents, alerts."""

    @app.get(
        "/api/nations",
        tags=["picture"],
        summary="The nations' views served here",
        responses={200: _json_content({"type": "array", "items": _ref("NationInfo")}, "Views")},
    )
    async def nations(request: Request) -> Response:
        out = []
        session = session_of(request.scope)
        for code in hub.nations:
            if session is not None and code not in session.nations:
                continue  # a user sees its own nation's view only
            name, tz, label = _NATION_INFO[code]
            out.append(
                NationInfo(
                    code=code,
                    name=name,
                    local_tz=tz,
                    local_label=label,  # type: ignore[arg-type]
                    has_picture=hub.latest(code) is not None,
                    first_alert_unix_s=hub.first_alert_unix_s(code),
                    t0_unix_s=hub.t0_unix_s,
                )
            )
        return _json(out)

    @app.get(
        "/api/picture",
        tags=["picture"],
        summary="The latest whole picture of a nation's view",
        responses={200: _json_content(_ref("Picture"), "The picture"), **_NOT_FOUND},
    )
    async def picture(nation: NationParam) -> Response:
        pic = _latest(hub, nation)
        return _json(pic) if pic is not None else _no_picture(hub, nation)

    @app.get(
        "/api/tracks",
        tags=["picture"],
        summary="System tracks of a nation's view",
        responses={
            200: _json_content({"type": "array", "items": _ref("TrackView")}, "Tracks"),
            **_NOT_FOUND,
        },
    )
    async def tracks(nation: NationParam) -> Response:
        pic = _latest(hub, nation)
        return _json(pic.tracks) if pic is not None else _no_picture(hub, nation)

    @app.get(
        "/api/incidents",
        tags=["picture"],
        summary="Incidents (one per launch) of a nation's view",
        responses={
            200: _json_content({"type": "array", "items": _ref("IncidentView")}, "Incidents"),
            **_NOT_FOUND,
        },
    )
    async def incidents(nation: NationParam) -> Response:
        pic = _latest(hub, nation)
        return _json(pic.incidents) if pic is not None else _no_picture(hub, nation)

    @app.get(
        "/api/alerts",
        tags=["picture"],
        summary="Area alert states and the alert log",
        responses={
            200: _json_content(
                {
                    "type": "object",
                    "required": ["alerts", "alert_log"],
                    "properties": {
                        "alerts": {"type": "array", "items": _ref("AreaAlert")},
                        "alert_log": {"type": "array", "items": _ref("AlertLogEntry")},
                    },
                },
                "Alerts",
            ),
            **_NOT_FOUND,
        },
    )
    async def alerts(nation: NationParam) -> Response:
        pic = _latest(hub, nation)
        if pic is None:
            return _no_picture(hub, nation)
        return _json({"alerts": pic.alerts, "alert_log": pic.alert_log})


def _add_cap_and_map_routes(
    app: FastAPI,
    hub: PictureHub,
    cap_feed: Callable[[], Iterable[bytes] | bytes] | None,
    outlines: _Outlines,
    title: str,
) -> None:
    """The Atom feed of the CAP messages issued (/api/cap/feed.atom) and the area outlines (/api/areas.geojson)."""

    @app.get(
        "/api/cap/feed.atom",
        tags=["cap"],
        summary="Atom feed of the CAP messages this node issued",
        responses={
            200: {"description": "Atom feed", "content": {ATOM_MEDIA_TYPE: {"schema": {"type": "string"}}}}
        },
    )
    async def cap_feed_atom(request: Request) -> Response:
        from triwarn.warn.feed import FeedEntry, atom_feed

        produced = cap_feed() if cap_feed is not None else []
        if isinstance(produced, bytes | bytearray):
            body = bytes(produced)
        else:
            entries = [e if isinstance(e, FeedEntry) else FeedEntry(cap_xml=e) for e in produced]
            nation = hub.nations[0] if len(hub.nations) == 1 else "all"
            body = atom_feed(
                entries,
                feed_id=f"tag:triwarn.org,2026:feed:{nation}",
                title=f"{title} CAP alerts",
                self_url=str(request.url_for("cap_feed_atom")),
            )
        return Response(body, media_type=ATOM_MEDIA_TYPE)

    @app.get(
        "/api/areas.geojson",
        tags=["map"],
        summary="Land outlines of the alert areas (simplified)",
        responses={
            200: {
                "description": "GeoJSON FeatureCollection, lon/lat degrees",
                "content": {
                    "application/geo+json": {
                        "schema": {
                            "type": "object",
                            "required": ["type", "features"],
                            "properties": {
                                "type": {"const": "FeatureCollection"},
                                "features": {"type": "array"},
                            },
                        }
                    }
                },
            }
        },
    )
    async def areas_geojson() -> Response:
        return Response(
            await outlines.get(),
            media_type="application/geo+json",
            headers={"Cache-Control": "max-age=3600"},
        )


def _add_live_routes(app: FastAPI, hub: PictureHub) -> None:
    """Liveness (/api/health) and the SSE push of picture deltas (/api/stream), which share the count of
    open streams."""
    state = {"subscribers": 0}

    @app.get(
        "/api/health",
        tags=["ops"],
        summary="Liveness and the age of each view",
        responses={200: _json_content(_ref("Health"), "Health")},
    )
    async def health() -> Response:
        times = {n: (p.t_unix_s if (p := hub.latest(n)) is not None else None) for n in hub.nations}
        return _json(
            Health(
                ok=True, nations=list(hub.nations), picture_t_unix_s=times, subscribers=state["subscribers"],
                ended=hub.ended,
            )
        )

    @app.get(
        "/api/stream",
        tags=["picture"],
        summary="Server-sent events: picture deltas, at most 10 Hz",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "text/event-stream; each `data:` is a PictureDelta (JSON)",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **_NOT_FOUND,
        },
    )
    async def stream(nation: NationParam, request: Request) -> Response:
        if nation not in hub.nations:
            return _no_picture(hub, nation)

        async def events() -> AsyncIterator[bytes]:
            state["subscribers"] += 1
            try:
                yield b"retry: 1000\n\n"
                async with contextlib.aclosing(hub.subscribe(nation, heartbeat_s=SSE_KEEPALIVE_S)) as deltas:
                    async for delta in deltas:
                        if delta is None:
                            yield b": keepalive\n\n"
                        else:
                            yield b"event: delta\ndata: " + _ENCODER.encode(delta) + b"\n\n"
            finally:
                state["subscribers"] -= 1

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _add_ui_routes(app: FastAPI) -> None:
    """The built web UI: / (index.html, 503 when not built) and /static."""
    static = static_dir()
    index_html = static / "index.html"

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        if not index_html.is_file():
            return JSONResponse({"detail": "web UI not built (src/triwarn/web: npm run build)"}, 503)
        return FileResponse(str(index_html), media_type="text/html")

    if static.is_dir():
        app.mount("/static", StaticFiles(directory=str(static)), name="static")


def _openapi(app: FastAPI) -> dict:
    """The app's OpenAPI document with the msgspec JSON Schemas of the bodies as components (made once)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _, components = msgspec.json.schema_components(_SCHEMA_TYPES, ref_template="#/components/schemas/{name}")
        schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
        app.openapi_schema = schema
    return app.openapi_schema


__all__ = ["NATIONS", "create_app", "static_dir"]
