"""The soak's figures: nearest-rank percentiles, and the rule for memory that grows without bound."""

from __future__ import annotations

from bench.soak_figures import MB, MemoryTrack, Recorder, percentile


def track(*rss_mb: float) -> MemoryTrack:
    return MemoryTrack("worker", 1, [(10.0 * i, int(mb * MB)) for i, mb in enumerate(rss_mb)])


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([], 50) == 0.0


def test_growth_over_both_bounds_after_the_warm_up_is_unbounded() -> None:
    grows = track(20, 100, 100, 100, 130, 160, 190, 220)  # the warm-up (first 20 s) is left out
    verdict = grows.verdict(warm_up_s=20)
    assert verdict["unbounded"] is True
    assert verdict["first_third_mb"] == 100 and verdict["last_third_mb"] == 205
    assert verdict["start_mb"] == 20 and verdict["end_mb"] == 220 and verdict["max_mb"] == 220


def test_growth_under_either_bound_is_not_unbounded() -> None:
    # +60 MB but only 40% of 150 MB; then +40% of 100 MB but only 40 MB
    assert track(150, 150, 150, 150, 210, 210).verdict(0)["unbounded"] is False
    assert track(100, 100, 100, 140, 140, 140).verdict(0)["unbounded"] is False
    assert track(100, 100, 100, 151, 151, 151).verdict(0)["unbounded"] is True


def test_a_recorded_error_counts_against_its_kind() -> None:
    recorder = Recorder()
    recorder.record("vacancy", 200, 0.010)
    recorder.record("vacancy", 502, 0.030, "HTTP 502")
    recorder.error("stake_event", "refused item event_in_future")
    kinds = recorder.kinds(seconds=2.0)
    assert kinds["vacancy"]["requests"] == 2 and kinds["vacancy"]["errors"] == 1
    assert kinds["vacancy"]["per_s"] == 1.0 and kinds["vacancy"]["max_ms"] == 30.0
    assert recorder.error_count() == 2
