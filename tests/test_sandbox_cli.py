"""The sandbox's command line: bad arguments are one-line usage errors (exit 2), never tracebacks."""

import socket

import pytest

from ts_plugin.sandbox import SandboxExchange
from ts_plugin.sandbox.__main__ import main


def run(capsys, *argv: str) -> tuple[int, str]:
    """(exit code, stderr) of one command line."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv, expected", [
    (["serve", "--host", "0.0.0.0", "--pairs", "BTC/USDT=1"], "argument --host: sandbox refuses to bind to 0.0.0.0"),
    (["serve", "--host", "example.org", "--pairs", "BTC/USDT=1"], "argument --host: sandbox host 'example.org'"),
    (["serve", "--pairs", "BTC/USDT=abc"], "argument --pairs: price 'abc': expected a finite number > 0"),
    (["serve", "--pairs", "BTC/USDT=-5"], "argument --pairs: price '-5': expected a finite number > 0"),
    (["serve", "--pairs", "BTC/USDT=0"], "argument --pairs: price '0': expected a finite number > 0"),
    (["serve", "--pairs", "BTC/USDT=nan"], "argument --pairs: price 'nan': expected a finite number > 0"),
    (["serve", "--pairs", "BTC/USDT=inf"], "argument --pairs: price 'inf': expected a finite number > 0"),
    (["serve", "--pairs", "BTCUSDT=5"], "argument --pairs: pair 'BTCUSDT': expected BASE/QUOTE"),
    (["serve", "--pairs", "BTC/=5"], "argument --pairs: pair 'BTC/': expected BASE/QUOTE"),
    (["serve", "--pairs", "BTC/USDT=1", "--port", "99999"], "argument --port: port '99999': expected 0"),
    (["serve", "--pairs", "BTC/USDT=1", "--port", "-1"], "argument --port: port '-1': expected 0"),
    (["serve"], "give --pairs PAIR=PRICE"),
    (["price", "--url", "http://127.0.0.1:9", "BTC/USDT", "-5"], "argument price: price '-5'"),
    (["price", "--url", "http://127.0.0.1:9", "BTCUSDT", "5"], "argument pair: pair 'BTCUSDT'"),
    (["latency", "--url", "http://127.0.0.1:9", "nan"], "argument ms: latency 'nan'"),
    (["fault", "--url", "http://127.0.0.1:9", "GET /api/v3/depth", "[1]"], "argument fault: fault '[1]'"),
    (["fault", "--url", "http://127.0.0.1:9", "GET /api/v3/depth", "{kind"], "argument fault: fault '{kind': not JSON"),
])
def test_bad_arguments_are_usage_errors(capsys, argv, expected):
    code, err = run(capsys, *argv)
    assert code == 2 and "Traceback" not in err
    assert expected in err.strip().splitlines()[-1]  # usage, then one line that says what is wrong


def test_a_port_in_use_is_a_usage_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run(capsys, "serve", "--pairs", "BTC/USDT=1", "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err


def test_a_refusal_by_the_sandbox_is_printed_from_its_answer(capsys):
    with SandboxExchange({"BTC/USDT": 100.0}) as sandbox:
        code, err = run(capsys, "price", "--url", sandbox.url, "XRP/USDT", "5")
        assert code == 1 and "sandbox refused (400): unknown pair 'XRP/USDT'" in err
        assert run(capsys, "price", "--url", sandbox.url, "BTC/USDT", "101.5") == (0, "")
        assert sandbox.price("BTC/USDT") == 101.5


def test_an_unreachable_sandbox_is_one_line(capsys):
    with socket.socket() as closed:  # a port that was free a moment ago and has no listener
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    code, err = run(capsys, "latency", "--url", url, "5")
    assert code == 1 and err.startswith(f"cannot reach the sandbox at {url}") and "Traceback" not in err
