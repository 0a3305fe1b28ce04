"""Credentials validate early and never show their secrets."""

from __future__ import annotations

import pytest

import exchange_async as ea

SECRET = "sEcReT-value-never-shown"


PASSPHRASE = "PaSsPhRaSe-never-shown"


@pytest.mark.parametrize(
    "args",
    [
        ("", SECRET, PASSPHRASE),
        ("key", "   ", PASSPHRASE),
        ("key", SECRET, ""),
        ("key", SECRET, "\t\n"),
        ("key", SECRET, PASSPHRASE + "\n"),
        ("key", "s\x00cret", PASSPHRASE),
        ("kéy", SECRET, PASSPHRASE),
    ],
)
def test_bitget_rejects_blank_values(args: tuple[str, str, str]) -> None:
    with pytest.raises(ea.ValidationError) as info:
        ea.BitgetCredentials(*args)
    assert SECRET not in str(info.value)
    assert PASSPHRASE not in str(info.value)


@pytest.mark.parametrize(
    "args",
    [("", SECRET), ("key", ""), ("key", " "), ("key\n", SECRET), ("key", SECRET + "\n")],
)
def test_coinw_rejects_blank_values(args: tuple[str, str]) -> None:
    with pytest.raises(ea.ValidationError):
        ea.CoinWCredentials(*args)


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the contract promises a ValueError
        ea.CoinWCredentials("", "x")


def test_reprs_hide_secrets() -> None:
    bitget = ea.BitgetCredentials("bg_abcdef123456", SECRET, PASSPHRASE)
    coinw = ea.CoinWCredentials("cw_abcdef123456", SECRET)
    for obj in (bitget, coinw, ea.BitgetClient(bitget), ea.CoinWClient(coinw)):
        for text in (repr(obj), str(obj), f"{obj}"):
            assert SECRET not in text
            assert PASSPHRASE not in text
            assert "abcdef123456" not in text  # the key itself is masked


def test_credentials_refuse_pickling() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(ea.CoinWCredentials("key", SECRET))


@pytest.mark.parametrize("value", [None, "key", ea.CoinWCredentials("k" * 9, "s" * 9)])
def test_credentials_of_the_wrong_type(value: object) -> None:
    with pytest.raises(ea.ValidationError, match="credentials"):
        ea.BitgetClient(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", [0, 1, 2])
@pytest.mark.parametrize(
    "value", [None, 5, b"bytes", "", "  ", "line\n", "tab\there", "é", "k" * 513, ["key"]]
)
def test_credentials_values(field: int, value: object) -> None:
    args: list[object] = ["api-key-1", "secret-1", "pass-1"]
    args[field] = value
    with pytest.raises(ea.ValidationError):
        ea.BitgetCredentials(*args)  # type: ignore[arg-type]
