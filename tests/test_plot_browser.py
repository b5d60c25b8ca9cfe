"""A plot page opened in a real browser (headless Chromium, Debian's ``chromium`` package), offline: its
screenshot shows the stop path in the stop's colour, and a page without stop paths shows none."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ts_plugin.tools.plot.figure import STOP_COLOUR, write_page
from ts_plugin.tools.plot.model import StopPoint, TradePicture
from ts_plugin.tools.plot.sources import PairPicture

pytestmark = pytest.mark.slow

START = pd.Timestamp("2026-01-05 12:00", tz="UTC")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium): browser check skipped")
    return found


def _page(with_stops: bool) -> PairPicture:
    prices = 100 * np.exp(np.cumsum(np.r_[0.0, np.full(59, 0.002)]))
    candles = pd.DataFrame({"date": pd.date_range(START, periods=60, freq="5min"), "open": prices,
                            "high": prices * 1.001, "low": prices * 0.999, "close": prices * 1.0005})
    opened = START.timestamp() + 600
    stops = (StopPoint(opened, 95.0, "WAITING"), StopPoint(opened + 1800, 100.2, "BREAKEVEN"),
             *(StopPoint(opened + 3000 + 300 * i, 101.5 + 0.6 * i, "ACTIVE") for i in range(20)))
    trade = TradePicture(
        trade_id=1, pair="BTC/USDT", is_short=False, open_time=opened, open_rate=float(prices[2]),
        close_time=START.timestamp() + 59 * 300, close_rate=113.0, exit_reason="trailing_stop_loss",
        stops=stops if with_stops else (), stops_source="recorded", breakeven_at=opened + 1800,
        activated_at=opened + 3000, activation_price=101.5)
    return PairPicture("BTC/USDT", "5m", candles, [trade], "test page")


def _screenshot(chromium: str, page: Path, folder: Path) -> Path:
    shot = folder / f"{page.stem}.png"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={folder / 'profile'}", "--virtual-time-budget=10000", f"--screenshot={shot}",
         "--window-size=1400,900", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    return shot


def read_png(path: Path) -> np.ndarray:
    """Pixels (height, width, channels) of an 8-bit RGB/RGBA non-interlaced PNG, without Pillow."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    idat = b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks[kind] = body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG layout"
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    pixels = np.zeros((height, width * channels), dtype=np.int32)
    previous = np.zeros(width * channels, dtype=np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + previous) % 256
        elif kind == 1:
            row = line.copy()
            for x in range(channels, len(row)):
                row[x] = (row[x] + row[x - channels]) % 256
        else:
            row = line.copy()
            for x in range(len(row)):
                left = row[x - channels] if x >= channels else 0
                up, corner = previous[x], previous[x - channels] if x >= channels else 0
                if kind == 3:
                    row[x] = (row[x] + (left + up) // 2) % 256
                else:
                    estimate = left + up - corner
                    pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                    best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                    row[x] = (row[x] + best) % 256
        pixels[y] = row
        previous = row
    return pixels.reshape(height, width, channels)[:, :, :3]


def _stop_pixels(image: np.ndarray) -> int:
    target = np.array([int(STOP_COLOUR[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image - target).max(axis=2) <= 12).sum())


def test_the_page_draws_the_stop_path_offline(tmp_path):
    chromium = _chromium()
    drawn = write_page(_page(with_stops=True), tmp_path / "with")
    empty = write_page(_page(with_stops=False), tmp_path / "without")
    html = drawn.read_text()
    assert "script src=" not in html and len(html) > 3_000_000  # plotly.js inside
    with_stops = _stop_pixels(read_png(_screenshot(chromium, drawn, tmp_path)))
    without = _stop_pixels(read_png(_screenshot(chromium, empty, tmp_path)))
    assert with_stops > 300, f"{with_stops} pixels in the stop's colour"
    assert without < with_stops / 10  # the colour comes from the stop path, not from anything else
