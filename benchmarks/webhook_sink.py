"""A fast webhook receiver for benchmarks: answers every POST 204 at once, without verifying anything.

It runs in its own process (the benchmark starts it), so the time the receiver spends does not count against the
sender being measured. It prints ``listening <port>`` once it accepts connections, and how many webhooks it was
sent when it stops (SIGTERM or SIGINT).

    .venv/bin/python -m benchmarks.webhook_sink --port 0
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web


async def serve(port: int) -> None:
    received = 0

    async def accept(request: web.Request) -> web.Response:
        nonlocal received
        await request.read()
        received += 1
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{tail:.*}", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"listening {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()
    print(f"received {received}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
