"""A live node's HTTP face: health, metrics, the CAP feed and (by default) the operator UI.

    live = LiveNode(...)                       # triwarn.node.service
    app = node_app(live)                       # serve with triwarn.api.serve.start_server

GET /api/health (JSON, LiveNode.health), /metrics (Prometheus text), /api/cap/feed.atom (the newest CAP
documents the node issued) and, with the UI, the operator UI and picture API (triwarn.api.app), fed by
the picture adapter (triwarn.api.picture_feed.PictureFeed) from the node's step results.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from triwarn.api.app import create_app
from triwarn.api.guard import ConsoleGuard, ConsoleSecurity
from triwarn.api.picture import PictureHub
from triwarn.api.picture_feed import PictureFeed
from triwarn.node.core import StepResult
from triwarn.node.service import LiveNode
from triwarn.warn.feed import FeedEntry, atom_feed


def node_app(live: LiveNode, *, with_ui: bool | None = None, security: ConsoleSecurity | None = None) -> FastAPI:
    """The node's HTTP face: GET /api/health (JSON), /metrics (Prometheus text), /api/cap/feed.atom.

    with_ui (default True): also the operator UI and picture API (triwarn.api), fed by the picture
    adapter (PictureFeed): "live" pictures with CAP status Actual for a node configured live,
    "exercise" pictures for an exercise node (the adapter refuses to mix the two).
    security: the console's gate and routes (triwarn.api.guard; None: open, for tests on loopback). The
    node's operators act on this node only: its users are of its nation (the login refuses others).
    """
    ui = True if with_ui is None else with_ui
    hub = PictureHub((live.nation,))
    if ui:
        # The picture's partner links are the live node's own link states and last-heard times: the same
        # figures /api/health gives.
        feed = PictureFeed(hub, live.settings.exercise or "", live=live.settings.exercise is None,
                           runners={live.nation: live})
        previous = live.on_step

        def on_step(nation: str, res: StepResult) -> None:
            feed.on_step(nation, res)
            if previous is not None:
                previous(nation, res)

        live.on_step = on_step

    app = FastAPI(title=f"triwarn node {live.nation}", version="1")
    app.state.hub = hub  # so that RunningServer.stop() can end the UI's event streams
    if security is not None:
        app.add_middleware(ConsoleGuard, security=security)  # one gate for the node's routes and the UI's

    @app.get("/api/health")
    async def health() -> JSONResponse:
        return JSONResponse(live.health())

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(live.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    if ui:
        # Routes above win over the mounted app's own /api/health.
        app.mount("/", create_app(hub, cap_feed=lambda: list(live.cap_docs), areas=live.node.areas,
                                  title=f"triwarn {live.nation}", security=security,
                                  operators={live.nation: live}, guard=False))
    else:
        @app.get("/api/cap/feed.atom")
        async def cap_feed(request: Request) -> Response:
            body = atom_feed([FeedEntry(cap_xml=x) for x in list(live.cap_docs)],
                             feed_id=f"tag:triwarn.org,2026:feed:{live.nation}",
                             title=f"triwarn {live.nation} CAP alerts", self_url=str(request.url),
                             now_unix_s=live.clock())
            return Response(body, media_type="application/atom+xml")
    return app
