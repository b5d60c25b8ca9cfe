"""The synthetic sample data: deterministic, sane candles, clearly labelled."""

import numpy as np
import pandas as pd

from ts_plugin.tools.sampledata import MARKER, ensure_sample_data, generate, synthetic_candles


def test_same_seed_same_candles():
    first = synthetic_candles(100.0, 2_000, seed=3)
    pd.testing.assert_frame_equal(first, synthetic_candles(100.0, 2_000, seed=3))
    assert not first.equals(synthetic_candles(100.0, 2_000, seed=4))


def test_candles_are_sane_and_volatile_like_crypto():
    frame = synthetic_candles(100.0, 288 * 60, seed=5)
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["low"] > 0).all() and frame["date"].diff().dropna().eq(pd.Timedelta("5min")).all()
    median_move = np.log(frame["close"]).diff().abs().median()
    assert 0.0005 < median_move < 0.01


def test_generate_writes_feather_files_and_a_marker(tmp_path):
    files = generate(tmp_path, pairs={"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0}, days=60)
    assert [f.name for f in files] == ["BTC_USDT-5m.feather", "ETH_USDT-5m.feather"]
    frame = pd.read_feather(files[0])
    assert len(frame) == 60 * 288 and "SYNTHETIC" in (tmp_path / MARKER).read_text()
    assert ensure_sample_data(tmp_path) is False  # candles present: nothing regenerated


def test_generate_is_deterministic_across_runs(tmp_path):
    pairs = {"SOL/USDT": 150.0}
    first = pd.read_feather(generate(tmp_path / "a", pairs=pairs, days=61)[0])
    second = pd.read_feather(generate(tmp_path / "b", pairs=pairs, days=61)[0])
    pd.testing.assert_frame_equal(first, second)
    assert first["date"].iloc[-1] == pd.Timestamp("2025-12-31 23:55", tz="UTC")  # fixed end, not the clock


def test_other_timeframes_use_freqtrades_layout(tmp_path):
    (path,) = generate(tmp_path, pairs={"XRP/USDT": 0.6}, days=60, timeframe="1h")
    frame = pd.read_feather(path)
    assert path.name == "XRP_USDT-1h.feather" and len(frame) == 60 * 24
    assert frame["date"].diff().dropna().eq(pd.Timedelta("1h")).all()
    assert ensure_sample_data(tmp_path, timeframe="1h") is False
    assert ensure_sample_data(tmp_path / "empty", pairs={"XRP/USDT": 0.6}, days=60) is True
