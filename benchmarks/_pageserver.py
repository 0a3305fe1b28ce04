"""A minimal exchange stand-in for the client-CPU benchmarks, run as its own process.

``python -m benchmarks._pageserver HOSTS [CERT KEY]`` listens on one port on the loopback
addresses 127.0.0.1 .. 127.0.0.HOSTS (each a distinct "IP" for per-IP limits), over TLS when
given a certificate chain and key (PEM files), prints the port on stdout and serves until stdin
closes. It checks no signature (peers sign differently) and answers:

- the Bitget tracking-orders path with one canned 50-row page,
- Bitget's server-time path with the local clock,
- the CoinW order path with a canned 20-order page,
- ``GET /__arrivals``: the arrivals logged so far as ``[[monotonic_s, key], ...]`` (and clears
  them); ``key`` is the ``ACCESS-KEY`` or ``api_key`` header.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aiohttp import web

from ._sim import BITGET_PATH, COINW_PATH, bitget_body, coinw_body
from ._tls import server_context


def hosts(count: int) -> list[str]:
    """The loopback addresses a server of ``count`` hosts listens on."""
    return [f"127.0.0.{i}" for i in range(1, count + 1)]


def make_app() -> web.Application:
    """The aiohttp app answering the canned pages."""
    bitget = bitget_body()
    coinw = coinw_body("numbers")
    arrivals: list[tuple[float, str]] = []

    async def handle(request: web.Request) -> web.Response:
        key = request.headers.get("ACCESS-KEY") or request.headers.get("api_key") or ""
        arrivals.append((time.monotonic(), key))
        path = request.path
        if path == BITGET_PATH:
            return web.Response(body=bitget, content_type="application/json")
        if path == COINW_PATH:
            return web.Response(body=coinw, content_type="application/json")
        if path == "/api/v2/public/time":
            now = int(time.time() * 1000)
            reply = {
                "code": "00000",
                "msg": "success",
                "requestTime": now,
                "data": {"serverTime": str(now)},
            }
            return web.json_response(reply)
        return web.json_response({"code": "40404", "msg": "not found"}, status=404)

    async def drain(request: web.Request) -> web.Response:
        logged = list(arrivals)
        arrivals.clear()
        return web.Response(text=json.dumps(logged), content_type="application/json")

    app = web.Application()
    app.router.add_get("/__arrivals", drain)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def serve(count: int, tls: list[str]) -> None:
    """Serve on ``count`` loopback hosts until stdin closes (TLS: ``[cert, key]`` paths)."""
    runner = web.AppRunner(make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    context = server_context(*tls) if tls else None
    port = 0
    for host in hosts(count):
        site = web.TCPSite(runner, host, port, backlog=4096, ssl_context=context)
        await site.start()
        port = port or int(runner.addresses[0][1])
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the server is just faster with it
        pass
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 1, sys.argv[2:4]))
