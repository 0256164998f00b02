"""Preview the operator UI on a synthetic flight, without a node: `python -m triwarn_eval.preview`.

Serves the three nations' views on 127.0.0.1 (a free port unless --port) and plays the synthetic
overflight (triwarn_eval.synthetic) at --speed times real time, looping. --tracks N adds N load tracks.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import msgspec

from triwarn.api.app import create_app
from triwarn.api.picture import NATIONS, PictureHub
from triwarn_eval.synthetic import crowd_picture, fly_overflight, picture_at


async def play(
    hub: PictureHub,
    *,
    speed: float = 10.0,
    rate_hz: float = 2.0,
    load_tracks: int = 0,
    loops: int | None = None,
    link_down_after_s: float = 300.0,
) -> None:
    """Publish the overflight in every served view at `speed`× real time, `rate_hz` pictures a second.

    The KR link goes down for the US and JP views `link_down_after_s` after launch, to show a fault.
    """
    flight = fly_overflight()
    played = 0
    while loops is None or played < loops:
        start_wall = time.monotonic()
        t_sim = flight.launch_unix_s - 30.0
        end = flight.launch_unix_s + flight.impact_t_s + 120.0
        while t_sim <= end:
            down = ("kr",) if t_sim - flight.launch_unix_s > link_down_after_s else ()
            for nation in hub.nations:
                pic = picture_at(flight, nation, t_sim, link_down=down if nation != "kr" else ())
                if load_tracks:
                    crowd = crowd_picture(nation, t_sim, load_tracks)
                    pic = msgspec.structs.replace(pic, tracks=list(pic.tracks) + list(crowd.tracks))
                await hub.publish(pic)
            await asyncio.sleep(1.0 / rate_hz)
            t_sim = flight.launch_unix_s - 30.0 + (time.monotonic() - start_wall) * speed
        played += 1


async def _main(args: argparse.Namespace) -> None:
    from triwarn.api.serve import start_server

    hub = PictureHub(NATIONS)
    running = await start_server(create_app(hub), port=args.port)
    print(f"triwarn operator UI: {running.url}/", flush=True)
    try:
        await play(hub, speed=args.speed, load_tracks=args.tracks)
    finally:
        await running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--tracks", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(_main(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
