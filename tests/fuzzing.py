"""What the fuzz tests share: running a strategy for a bounded number of generated examples, and the
first line of a check's message for a failure report."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings


def run_generated(strategy, examples: int, exercise) -> None:
    """Call *exercise* on *examples* generated values. Generation only: failures are collected by
    `exercise` (reported with values masked), so there is nothing to shrink or to print."""

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    def fuzz(case):
        exercise(case)

    fuzz()


def first_line(text) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""
