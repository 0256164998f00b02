"""Running the operator API with uvicorn inside an asyncio program (the node, the demo, the tests).

`start_server` binds 127.0.0.1 on a free port by default and returns once the socket listens, so a
caller can print or open the URL straight away. Beyond loopback it serves TLS (tls_cert and tls_key,
PEM files) or refuses to start, unless the caller says `insecure_remote=True` (`--insecure-no-tls`: a
network that encrypts below, say a VPN; the session cookie then travels in clear).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from triwarn.api.guard import is_loopback
from triwarn.errors import InputError


@dataclass
class RunningServer:
    """A uvicorn server running as a task of the current event loop."""

    server: uvicorn.Server
    task: asyncio.Task
    host: str
    port: int
    tls: bool = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    async def stop(self) -> None:
        """End open streams (closing the app's hub), stop accepting, and wait for the task."""
        hub = getattr(getattr(self.server.config.app, "state", None), "hub", None)
        if hub is not None:
            await hub.close()  # else uvicorn waits out its graceful timeout on open event streams
        self.server.should_exit = True
        try:
            await asyncio.wait_for(self.task, timeout=10.0)
        except TimeoutError:
            self.server.force_exit = True
            await self.task


def check_bind(host: str, tls_cert: Path | None, tls_key: Path | None, insecure_remote: bool) -> bool:
    """Whether the server serves TLS; InputError when a non-loopback bind has no TLS and no override,
    or one of the two PEM files is missing."""
    if (tls_cert is None) != (tls_key is None):
        raise InputError("--tls-cert and --tls-key go together",
                         field="--tls-cert" if tls_cert is None else "--tls-key")
    for path, name in ((tls_cert, "--tls-cert"), (tls_key, "--tls-key")):
        if path is not None and not path.is_file():
            raise InputError("file not found", source=str(path), field=name)
    tls = tls_cert is not None
    if not tls and not is_loopback(host) and not insecure_remote:
        raise InputError(f"binding {host} (beyond this machine) needs TLS: give --tls-cert and --tls-key, or "
                         "--insecure-no-tls on a network that encrypts below (the session cookie then travels "
                         "in clear)", field="--host")
    return tls


async def start_server(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
    tls_cert: Path | None = None, tls_key: Path | None = None, insecure_remote: bool = False,
) -> RunningServer:
    """Serve `app` on host:port (port 0: a free one) and return when it listens. InputError before
    binding a non-loopback address without TLS (see check_bind)."""
    tls = check_bind(host, tls_cert, tls_key, insecure_remote)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=2, ws="none",
        proxy_headers=False,  # the client address is the socket's: a forged X-Forwarded-For cannot dodge limits
        ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise why it could not start (port taken, ...)
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    return RunningServer(server=server, task=task, host=host, port=int(bound[1]), tls=tls)
