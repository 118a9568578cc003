from __future__ import annotations

import threading
import time

import pytest

from revstack.sources.ratelimit import TokenBucket


class ManualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_burst_up_to_capacity_then_paced_at_the_rate() -> None:
    time_ = ManualTime()
    bucket = TokenBucket(rate=10, capacity=5, clock=time_.clock, sleep=time_.sleep)
    waits = [bucket.acquire() for _ in range(25)]
    assert waits[:5] == [0.0] * 5
    assert time_.now == pytest.approx(2.0)  # 20 more tokens at 10/s
    assert all(w == pytest.approx(0.1) for w in waits[5:])


def test_try_acquire_never_waits() -> None:
    time_ = ManualTime()
    bucket = TokenBucket(rate=1, capacity=2, clock=time_.clock, sleep=time_.sleep)
    assert bucket.try_acquire() and bucket.try_acquire()
    assert not bucket.try_acquire()
    time_.now += 1.0
    assert bucket.try_acquire()


def test_threads_sharing_a_bucket_stay_under_the_rate() -> None:
    bucket = TokenBucket(rate=200, capacity=1)
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            bucket.acquire()
            with lock:
                taken.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    assert len(taken) == 200
    assert elapsed >= 199 / 200 * 0.95  # 200 tokens at 200/s take about a second


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, capacity=0.5)


def test_available_counts_refilled_and_reserved_tokens() -> None:
    time_ = ManualTime()
    bucket = TokenBucket(rate=10, capacity=2, clock=time_.clock, sleep=lambda seconds: None)
    assert bucket.available() == 2
    bucket.acquire()
    bucket.acquire()
    bucket.acquire()  # reserved ahead of the refill
    assert bucket.available() == pytest.approx(-1)
    time_.now += 0.25
    assert bucket.available() == pytest.approx(1.5)
    time_.now += 10
    assert bucket.available() == 2
