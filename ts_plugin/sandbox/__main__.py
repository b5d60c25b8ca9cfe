"""Command line for the sandbox exchange.

    python -m ts_plugin.sandbox serve --pairs BTC/USDT=60000 ETH/USDT=3000 [--port 0] [--datadir DIR]
    python -m ts_plugin.sandbox price --url http://127.0.0.1:PORT BTC/USDT 61000
    python -m ts_plugin.sandbox gap --url ... BTC/USDT 55000          (a jump, no prices in between)
    python -m ts_plugin.sandbox fault --url ... "DELETE /api/v3/order" '{"kind": "unknown_order_live"}'
    python -m ts_plugin.sandbox latency --url ... 50
    python -m ts_plugin.sandbox orders --url ... [BTCUSDT]

``serve`` prints the URL and the freqtrade ``exchange`` keys that point ccxt at it, then runs until
Ctrl-C. It binds to loopback only. A pair with a settle currency (``BTC/USDT:USDT=60000``) is a USD-M
perpetual on ``/fapi`` (positions, isolated margin, algo conditional orders).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from urllib.request import Request, urlopen

from ts_plugin.sandbox.server import SandboxExchange, ccxt_overrides


def _call(url: str, method: str, path: str, payload: dict | None = None) -> object:
    data = json.dumps(payload).encode() if payload is not None else None
    request = Request(url.rstrip("/") + path, data=data, method=method,
                      headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def _serve(options: argparse.Namespace) -> int:
    prices = {}
    for item in options.pairs or []:
        pair, _, price = item.partition("=")
        prices[pair] = float(price or 100.0)
    if options.datadir:
        from ts_plugin.demo import pairs_in

        prices.update(pairs_in(Path(options.datadir)))
    if not prices:
        print("give --pairs PAIR=PRICE ... and/or --datadir DIR", file=sys.stderr)
        return 2
    sandbox = SandboxExchange(prices, host=options.host, port=options.port).start()
    print(f"sandbox exchange on {sandbox.url} with {len(prices)} pairs")
    print("freqtrade config, under \"exchange\":")
    print(json.dumps(ccxt_overrides(sandbox.url), indent=1))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ts_plugin.sandbox", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--pairs", nargs="*")
    serve.add_argument("--datadir")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    for name in ("price", "gap"):
        sub = commands.add_parser(name)
        sub.add_argument("--url", required=True)
        sub.add_argument("pair")
        sub.add_argument("price", type=float)
    fault = commands.add_parser("fault")
    fault.add_argument("--url", required=True)
    fault.add_argument("endpoint")
    fault.add_argument("fault", type=json.loads)
    latency = commands.add_parser("latency")
    latency.add_argument("--url", required=True)
    latency.add_argument("ms", type=float)
    orders = commands.add_parser("orders")
    orders.add_argument("--url", required=True)
    orders.add_argument("symbol", nargs="?")
    options = parser.parse_args(argv)

    if options.command == "serve":
        return _serve(options)
    if options.command in ("price", "gap"):  # a price change is a jump: gaps need nothing more
        answer = _call(options.url, "POST", "/_sandbox/price", {"pair": options.pair, "price": options.price})
    elif options.command == "fault":
        answer = _call(options.url, "POST", "/_sandbox/fault", {"endpoint": options.endpoint, "fault": options.fault})
    elif options.command == "latency":
        answer = _call(options.url, "POST", "/_sandbox/fault", {"latency_ms": options.ms})
    else:
        suffix = f"?symbol={options.symbol}" if options.symbol else ""
        answer = _call(options.url, "GET", "/_sandbox/orders" + suffix)
    print(json.dumps(answer, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
