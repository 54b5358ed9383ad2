"""The delivery bookkeeping the smoke test relies on really detects loss, duplicates and corruption."""

from __future__ import annotations

import pytest

from benchmarks.configs import select_configs
from benchmarks.payloads import BenchMsg, ProtoMsg, make_message
from benchmarks.recorder import DeliveryRecorder


async def test_complete_run_counts_each_subscriber_once() -> None:
    recorder = DeliveryRecorder()
    recorder.expect(run=7, n=3, k=2, size=100)
    for seq in range(3):
        for sub in ("sub0", "sub1"):
            recorder.record(sub, make_message("json" if seq % 2 else "proto", 7, seq, 100))
    result = await recorder.collect(timeout=1)
    assert result["complete"] and result["delivered"] == 6
    assert result["duplicates"] == 0 and result["corrupt"] == 0
    assert result["t_last_delivery"] >= result["t_first_delivery"] > 0


async def test_duplicates_stale_corrupt_and_loss_are_reported() -> None:
    recorder = DeliveryRecorder()
    recorder.expect(run=1, n=2, k=1, size=100)
    recorder.record("sub0", make_message("json", 1, 0, 100))
    recorder.record("sub0", make_message("json", 1, 0, 100))  # duplicate
    recorder.record("sub0", make_message("json", 2, 1, 100))  # another run
    broken = make_message("proto", 1, 1, 100)
    assert isinstance(broken, ProtoMsg)
    broken.data = broken.data[:-1] + b"!"
    recorder.record("sub0", broken)  # body changed on the way
    recorder.record("sub0", BenchMsg(text="not a benchmark message"))
    result = await recorder.collect(timeout=0.05)
    assert result["complete"] is True  # both seqs arrived ...
    assert result["duplicates"] == 1 and result["corrupt"] == 1  # ... but not cleanly
    assert recorder.audit() == {"stale": 1, "foreign": 1}


async def test_missing_delivery_times_out_incomplete() -> None:
    recorder = DeliveryRecorder()
    recorder.expect(run=3, n=2, k=4, size=65536)
    recorder.record("sub3", make_message("json", 3, 1, 65536))
    result = await recorder.collect(timeout=0.05)
    assert not result["complete"] and result["delivered"] == 1 and result["expected"] == 8


def test_config_selection() -> None:
    names = [c.name for c in select_configs(["pubsub proto 64KiB"])]
    assert names == ["pubsub proto 64KiB K=1", "pubsub proto 64KiB K=4"]
    assert len(select_configs(None)) == 16
    with pytest.raises(ValueError, match="no configuration matches"):
        select_configs(["nonsense"])
