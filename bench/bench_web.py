"""Operator UI timings in headless chromium on loopback: page-usable time and frame rate under load.

    .venv/bin/python bench/bench_web.py [--loads 5] [--tracks 1000] [--pan-s 10]

Page-usable time: navigation start to the moment the map is drawn with the first picture (the page's
`triwarn-usable` performance mark), over --loads fresh page loads, while a flight is being played.
Frame rate: --tracks tracks, every one moving, published at 1 Hz to all three views, while the map is
panned one step per animation frame for --pan-s seconds, then zoomed in and out. Goals (issue 8):
usable < 2 s, 30 frames/s. Figures depend on the machine's load; the script prints the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time

from triwarn.api.app import create_app
from triwarn.api.picture import NATIONS, PictureHub
from triwarn.api.serve import start_server
from triwarn.web.browser import chromium, open_page
from triwarn_eval.synthetic import crowd_picture, fly_overflight, picture_at

PAN_JS = """(durationMs) => new Promise((resolve) => {
    const s = window.__triwarn, f0 = s.frameTimes.length, r0 = s.renderMs.length, d0 = s.deltas;
    const t0 = performance.now();
    let k = 0;
    function step(now) {
        if (now - t0 < durationMs * 0.8) window.__triwarnPan(Math.sin(k / 30) * 8, Math.cos(k / 40) * 5);
        else window.__triwarnZoom(k % 20 < 10 ? 1.05 : 1 / 1.05);
        k++;
        if (now - t0 < durationMs) { requestAnimationFrame(step); return; }
        const frames = s.frameTimes.slice(f0), renders = s.renderMs.slice(r0).sort((a, b) => a - b);
        const gaps = frames.slice(1).map((t, i) => t - frames[i]).sort((a, b) => a - b);
        const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];
        resolve({fps: (frames.length - 1) / ((frames[frames.length - 1] - frames[0]) / 1000),
                 frame_p50_ms: q(gaps, 0.5), frame_p95_ms: q(gaps, 0.95), frame_max_ms: gaps[gaps.length - 1],
                 render_p50_ms: q(renders, 0.5), render_p95_ms: q(renders, 0.95), updates: s.deltas - d0});
    }
    requestAnimationFrame(step);
})"""


@contextlib.asynccontextmanager
async def serving(feeder):
    hub = PictureHub(NATIONS)
    server = await start_server(create_app(hub))
    task = asyncio.create_task(feeder(hub))
    try:
        yield server
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await server.stop()


async def flight_feeder(hub: PictureHub) -> None:
    flight = fly_overflight()
    t0 = time.monotonic()
    while True:
        t = flight.launch_unix_s + 200.0 + (time.monotonic() - t0) * 10.0
        for nation in hub.nations:
            await hub.publish(picture_at(flight, nation, t))
        await asyncio.sleep(0.2)


def crowd_feeder(n_tracks: int):
    async def feed(hub: PictureHub) -> None:
        while True:
            t = time.time()
            for nation in hub.nations:
                await hub.publish(crowd_picture(nation, t, n_tracks, trail_len=10))
            await asyncio.sleep(1.0)

    return feed


async def main(args: argparse.Namespace) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    async with chromium() as browser:
        async with serving(flight_feeder) as server:
            usable = []
            for _ in range(args.loads):
                async with open_page(browser, f"{server.url}/?nation=jp") as (page, _errors):
                    await page.wait_for_selector("html[data-ready='1']", timeout=30_000)
                    usable.append(await page.evaluate("window.__triwarn.usableMs"))
        print(
            f"page usable: median {statistics.median(usable):.0f} ms, max {max(usable):.0f} ms over "
            f"{len(usable)} loads (goal < 2000 ms)"
        )
        async with serving(crowd_feeder(args.tracks)) as server, \
                open_page(browser, f"{server.url}/?nation=us") as (page, _errors):
            await page.wait_for_function(f"window.__triwarnView().tracks >= {args.tracks}", timeout=30_000)
            r = await page.evaluate(PAN_JS, args.pan_s * 1000)
            print(
                f"{args.tracks} tracks at 1 Hz, panning then zooming {args.pan_s:.0f} s: "
                f"{r['fps']:.1f} frames/s "
                f"(goal 30); frame gap p50 {r['frame_p50_ms']:.1f} ms p95 {r['frame_p95_ms']:.1f} ms max "
                f"{r['frame_max_ms']:.1f} ms; map draw p50 {r['render_p50_ms']:.2f} ms p95 "
                f"{r['render_p95_ms']:.2f} ms; {r['updates']} picture updates applied"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--pan-s", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
