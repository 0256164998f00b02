"""Running the operator API with uvicorn inside an asyncio program (the node, the demo, the tests).

`start_server` binds 127.0.0.1 on a free port by default and returns once the socket listens, so a
caller can print or open the URL straight away.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI


@dataclass
class RunningServer:
    """A uvicorn server running as a task of the current event loop."""

    server: uvicorn.Server
    task: asyncio.Task
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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


async def start_server(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
) -> RunningServer:
    """Serve `app` on host:port (port 0: a free one) and return when it listens."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=2, ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise why it could not start (port taken, ...)
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    return RunningServer(server=server, task=task, host=host, port=int(bound[1]))
