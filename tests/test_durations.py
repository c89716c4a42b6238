"""Durations as `kvnb local clock --advance` and `%kvaccess grant --for` accept them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kvnb.durations import iso_duration, parse_duration


@pytest.mark.parametrize(
    "text, expected",
    [
        ("61m", timedelta(minutes=61)),
        ("2h", timedelta(hours=2)),
        ("60d", timedelta(days=60)),
        ("1w", timedelta(weeks=1)),
        ("90s", timedelta(seconds=90)),
        ("PT61M", timedelta(minutes=61)),
        ("P60D", timedelta(days=60)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        (" 8H ", timedelta(hours=8)),
    ],
)
def test_accepted_forms(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "-5m", "5 minutes", "P", "PT", "1.5h"])
def test_other_text_says_which_forms_work(text):
    with pytest.raises(ValueError, match="61m, 2h, 60d or PT61M"):
        parse_duration(text)


@pytest.mark.parametrize(
    "delta, iso",
    [
        (timedelta(hours=1), "PT1H"),
        (timedelta(days=60), "P60D"),
        (timedelta(minutes=61), "PT1H1M"),
        (timedelta(days=1, seconds=5), "P1DT5S"),
        (timedelta(0), "PT0S"),
    ],
)
def test_iso_form_for_schedule_requests(delta, iso):
    assert iso_duration(delta) == iso
    assert parse_duration(iso) == delta
