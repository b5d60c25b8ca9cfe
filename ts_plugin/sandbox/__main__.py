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

Bad arguments (a host off loopback, a pair without ``/``, a price that is not a finite number > 0, a
port outside 0..65535) are one-line usage errors with exit code 2; a refusal by the running sandbox
is printed from its JSON answer with exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any, Callable
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from ts_plugin.sandbox.inputs import pair_price, valid_latency, valid_pair, valid_port, valid_price
from ts_plugin.sandbox.server import SandboxExchange, ccxt_overrides, ensure_loopback

DEFAULT_PRICE = 100.0  # for a bare PAIR in --pairs


def _checked(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` that prints ``check``'s own message instead of 'invalid value'."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def _loopback(host: str) -> str:
    ensure_loopback(host)
    return host


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"fault {text!r}: not JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"fault {text!r}: expected a JSON object such as '{{\"kind\": \"timeout\"}}'")
    return value


def _call(url: str, method: str, path: str, payload: dict | None = None) -> object:
    data = json.dumps(payload).encode() if payload is not None else None
    request = Request(url.rstrip("/") + path, data=data, method=method,
                      headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def _serve(parser: argparse.ArgumentParser, options: argparse.Namespace) -> int:
    prices = dict(options.pairs or [])
    if options.datadir:
        from ts_plugin.demo import pairs_in

        prices.update(pairs_in(Path(options.datadir)))
    if not prices:
        parser.error("give --pairs PAIR=PRICE ... and/or --datadir DIR")
    try:
        sandbox = SandboxExchange(prices, host=options.host, port=options.port).start()
    except OSError as error:  # the port is taken or not ours to use
        parser.error(f"cannot listen on {options.host}:{options.port}: {error.strerror or error}")
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
    serve.add_argument("--pairs", nargs="*", metavar="PAIR=PRICE",
                       type=_checked(lambda item: pair_price(item, DEFAULT_PRICE)))
    serve.add_argument("--datadir")
    serve.add_argument("--host", default="127.0.0.1", type=_checked(_loopback))
    serve.add_argument("--port", default=0, type=_checked(valid_port))
    for name in ("price", "gap"):
        sub = commands.add_parser(name)
        sub.add_argument("--url", required=True)
        sub.add_argument("pair", type=_checked(valid_pair))
        sub.add_argument("price", type=_checked(valid_price))
    fault = commands.add_parser("fault")
    fault.add_argument("--url", required=True)
    fault.add_argument("endpoint")
    fault.add_argument("fault", type=_checked(_json_object))
    latency = commands.add_parser("latency")
    latency.add_argument("--url", required=True)
    latency.add_argument("ms", type=_checked(valid_latency))
    orders = commands.add_parser("orders")
    orders.add_argument("--url", required=True)
    orders.add_argument("symbol", nargs="?")
    options = parser.parse_args(argv)

    if options.command == "serve":
        return _serve(parser, options)
    try:
        answer = _control(options)
    except HTTPError as error:  # the sandbox refused: its JSON answer says why
        print(f"sandbox refused ({error.code}): {_message(error)}", file=sys.stderr)
        return 1
    except (URLError, OSError, ValueError) as error:
        print(f"cannot reach the sandbox at {options.url}: {getattr(error, 'reason', error)}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=1))
    return 0


def _control(options: argparse.Namespace) -> object:
    if options.command in ("price", "gap"):  # a price change is a jump: gaps need nothing more
        return _call(options.url, "POST", "/_sandbox/price", {"pair": options.pair, "price": options.price})
    if options.command == "fault":
        return _call(options.url, "POST", "/_sandbox/fault", {"endpoint": options.endpoint, "fault": options.fault})
    if options.command == "latency":
        return _call(options.url, "POST", "/_sandbox/fault", {"latency_ms": options.ms})
    suffix = f"?symbol={options.symbol}" if options.symbol else ""
    return _call(options.url, "GET", "/_sandbox/orders" + suffix)


def _message(error: HTTPError) -> str:
    body = error.read()
    try:
        return str(json.loads(body)["msg"])
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", "replace") or str(error.reason)


if __name__ == "__main__":
    sys.exit(main())
