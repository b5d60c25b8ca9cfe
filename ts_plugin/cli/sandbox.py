"""``ts-plugin sandbox``: the local Binance-compatible exchange (also ``python -m ts_plugin.sandbox``).

    ts-plugin sandbox serve --pairs BTC/USDT=60000 ETH/USDT=3000 [--port 0] [--datadir DIR] [--write-config FILE]
    ts-plugin sandbox price --url http://127.0.0.1:PORT BTC/USDT 61000
    ts-plugin sandbox gap --url ... BTC/USDT 55000          (a jump, no prices in between)
    ts-plugin sandbox fault --url ... "DELETE /api/v3/order" '{"kind": "unknown_order_live"}'
    ts-plugin sandbox latency --url ... 50
    ts-plugin sandbox orders --url ... [BTCUSDT]

``serve`` prints a freqtrade config fragment (JSON: Binance through the sandbox's URL, websockets off,
the sandbox's pairs as whitelist) to stdout and runs until Ctrl-C; save it (or use --write-config) and
pass it as an extra ``--config`` to freqtrade. It binds to loopback only. A pair with a settle currency
(``BTC/USDT:USDT=60000``) is a USD-M perpetual on ``/fapi`` (positions, isolated margin, algo
conditional orders).

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
from ts_plugin.sandbox.server import SandboxExchange, config_fragment, ensure_loopback

DEFAULT_PRICE = 100.0  # for a bare PAIR in --pairs
URL_HELP = "the running sandbox's URL, as printed by 'serve' (http://127.0.0.1:PORT)"


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's subcommands and their options, on ``parser``."""
    commands = parser.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    serve = commands.add_parser(
        "serve", help="run the sandbox exchange until Ctrl-C and print the freqtrade config fragment",
        description="Run a Binance-compatible exchange on loopback until Ctrl-C. Prints a freqtrade "
                    "config fragment (JSON) on stdout, the URL on stderr.")
    serve.add_argument("--pairs", nargs="*", metavar="PAIR=PRICE",
                       type=_checked(lambda item: pair_price(item, DEFAULT_PRICE)),
                       help=f"markets and their starting price, such as BTC/USDT=60000 (a bare PAIR starts "
                            f"at {DEFAULT_PRICE:g}; BTC/USDT:USDT=60000 is a USD-M perpetual)")
    serve.add_argument("--datadir", metavar="DIR",
                       help="also serve every spot pair with 5m feather candles in DIR, priced at its "
                            "last close (the candles of a backtest)")
    serve.add_argument("--host", default="127.0.0.1", type=_checked(_loopback),
                       help="loopback address to listen on (default 127.0.0.1; anything else is refused)")
    serve.add_argument("--port", default=0, type=_checked(valid_port),
                       help="port to listen on (default 0: any free port, printed at start)")
    serve.add_argument("--write-config", type=Path, metavar="FILE",
                       help="also write the config fragment to FILE (for freqtrade's --config)")
    for name, what in (("price", "set a pair's price (the price moves there in one step)"),
                       ("gap", "the same as price: a jump with no prices in between")):
        sub = commands.add_parser(name, help=what, description=what[0].upper() + what[1:] + ".")
        sub.add_argument("--url", required=True, help=URL_HELP)
        sub.add_argument("pair", type=_checked(valid_pair), help="pair such as BTC/USDT")
        sub.add_argument("price", type=_checked(valid_price), help="new price, a finite number > 0")
    fault = commands.add_parser(
        "fault", help="inject a fault into one endpoint's next answer(s)",
        description="Inject a fault into an endpoint of the running sandbox (README: the sandbox exchange).")
    fault.add_argument("--url", required=True, help=URL_HELP)
    fault.add_argument("endpoint", help="METHOD and path, such as 'DELETE /api/v3/order'")
    fault.add_argument("fault", type=_checked(_json_object),
                       help="the fault as a JSON object, such as '{\"kind\": \"timeout\"}', "
                            "'{\"kind\": \"http\", \"status\": 500}' or '{\"kind\": \"unknown_order_live\"}'")
    latency = commands.add_parser("latency", help="delay every answer",
                                  description="Delay every answer of the running sandbox.")
    latency.add_argument("--url", required=True, help=URL_HELP)
    latency.add_argument("ms", type=_checked(valid_latency), help="milliseconds added to every answer (0: none)")
    orders = commands.add_parser("orders", help="list the sandbox's orders (JSON)",
                                 description="List the orders the running sandbox holds, as JSON.")
    orders.add_argument("--url", required=True, help=URL_HELP)
    orders.add_argument("symbol", nargs="?", help="only this exchange symbol, such as BTCUSDT")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "sandbox", help="the local Binance-compatible exchange: serve, price, gap, fault, latency, orders",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1] + "\n\n" + "\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser


def _serve(parser: argparse.ArgumentParser, options: argparse.Namespace) -> int:
    prices = dict(options.pairs or [])
    if options.datadir:
        from ts_plugin.tools.demo import pairs_in

        prices.update(pairs_in(Path(options.datadir)))
    if not prices:
        parser.error("give --pairs PAIR=PRICE ... and/or --datadir DIR")
    try:
        sandbox = SandboxExchange(prices, host=options.host, port=options.port).start()
    except OSError as error:  # the port is taken or not ours to use
        parser.error(f"cannot listen on {options.host}:{options.port}: {error.strerror or error}")
    fragment = json.dumps(config_fragment(sandbox.url, list(prices)), indent=2)
    try:
        if options.write_config:
            options.write_config.write_text(fragment + "\n")
        print(f"sandbox exchange on {sandbox.url} with {len(prices)} pairs; freqtrade config fragment "
              f"below{f' and in {options.write_config}' if options.write_config else ''} "
              "(pass it as an extra --config). Ctrl-C stops it.", file=sys.stderr, flush=True)
        print(fragment, flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    except OSError as error:  # --write-config to a folder that is not there, a closed stdout
        print(f"cannot write the config fragment: {error}", file=sys.stderr)
        return 1
    finally:
        sandbox.stop()
    return 0


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if options.sandbox_command == "serve":
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


def main(argv: list[str] | None = None, prog: str = "ts-plugin sandbox") -> int:
    """The sandbox's command line alone (``python -m ts_plugin.sandbox``)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    add_arguments(parser)
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run(options, parser)


def _control(options: argparse.Namespace) -> object:
    if options.sandbox_command in ("price", "gap"):  # a price change is a jump: gaps need nothing more
        return _call(options.url, "POST", "/_sandbox/price", {"pair": options.pair, "price": options.price})
    if options.sandbox_command == "fault":
        return _call(options.url, "POST", "/_sandbox/fault", {"endpoint": options.endpoint, "fault": options.fault})
    if options.sandbox_command == "latency":
        return _call(options.url, "POST", "/_sandbox/fault", {"latency_ms": options.ms})
    suffix = f"?symbol={options.symbol}" if options.symbol else ""
    return _call(options.url, "GET", "/_sandbox/orders" + suffix)


def _message(error: HTTPError) -> str:
    body = error.read()
    try:
        return str(json.loads(body)["msg"])
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", "replace") or str(error.reason)
