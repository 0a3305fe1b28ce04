"""The declared limits and the margin check (the limiters are tested in test_limiter_*.py)."""

from __future__ import annotations

import pytest

import exchange_async as ea
from exchange_async._core.limits import RateLimit, Scope, validate_margin


def test_interval_spaces_starts_by_the_window_with_the_margin() -> None:
    assert RateLimit("/x", 5, 1.0, Scope.ENDPOINT).interval(0.05) == pytest.approx(0.21)
    assert RateLimit("ip", 6000, 60.0, Scope.IP).interval(0.05) == pytest.approx(0.0105)
    assert RateLimit("/x", 10, 1.0, Scope.ENDPOINT).interval(0.0) == pytest.approx(0.1)


def test_scopes_are_ordered_narrowest_first() -> None:
    assert Scope.ENDPOINT < Scope.ACCOUNT < Scope.IP


@pytest.mark.parametrize("margin", [-0.1, 1.5, float("nan"), float("inf"), "0.05"])
def test_a_bad_margin_is_refused(margin: object) -> None:
    with pytest.raises(ea.ValidationError):
        validate_margin(margin)  # type: ignore[arg-type]


def test_a_good_margin_is_kept() -> None:
    assert validate_margin(0) == 0.0
    assert validate_margin(1) == 1.0
