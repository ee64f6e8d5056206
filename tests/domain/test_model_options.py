"""A robot's model options, read from the JSON a client sent: every unknown key named, a
value out of range named by its option, null as not set. No database."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from app.domain.robots import MAX_OUTPUT_TOKENS, InvalidModelOptions, ModelOptions, model_options


def test_options_sent_are_the_options_kept() -> None:
    options = model_options({"max_tokens": 512, "temperature": 1, "reasoning_effort": "high"})
    assert options == ModelOptions(max_tokens=512, temperature=1.0, reasoning_effort="high")


def test_null_and_left_out_are_both_not_set_and_not_stored() -> None:
    options = model_options({"temperature": None})
    assert options == ModelOptions() == model_options({})
    assert msgspec.to_builtins(options) == {}


def test_the_bounds_themselves_are_allowed() -> None:
    assert model_options({"temperature": 0, "max_tokens": 1}).temperature == 0
    assert model_options({"temperature": 2, "max_tokens": MAX_OUTPUT_TOKENS}).max_tokens \
        == MAX_OUTPUT_TOKENS


def test_every_unknown_key_is_named_in_the_order_sent() -> None:
    with pytest.raises(InvalidModelOptions) as caught:
        model_options({"top_k": 3, "temperature": 9, "foo": 1})
    assert caught.value.unknown == ("top_k", "foo")
    assert caught.value.option is None  # unknown keys are said before any value
    assert "top_k, foo" in str(caught.value)


@pytest.mark.parametrize(("raw", "option"), [
    ({"temperature": 2.01}, "temperature"),
    ({"temperature": "hot"}, "temperature"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": MAX_OUTPUT_TOKENS + 1}, "max_tokens"),
    ({"max_tokens": False}, "max_tokens"),
    ({"reasoning_effort": "max"}, "reasoning_effort"),
    ({"max_tokens": 10, "reasoning_effort": "LOW"}, "reasoning_effort"),
])
def test_a_wrong_value_names_its_option(raw: dict[str, Any], option: str) -> None:
    with pytest.raises(InvalidModelOptions) as caught:
        model_options(raw)
    assert caught.value.option == option and caught.value.unknown == ()
    assert str(caught.value).startswith(f"model_options.{option}: ")
    assert " - at " not in str(caught.value)  # msgspec's path is said once, as the option


def test_options_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(InvalidModelOptions, match="must be an object"):
        model_options(["temperature"])
