"""Which strings may be an account's handle (the CLI's `accounts create` checks it)."""

from __future__ import annotations

import pytest

from app.domain.accounts import handle_problem


@pytest.mark.parametrize("handle", ["ada", "a", "ada-lovelace", "ada_1815", "1815", "a" * 30])
def test_lowercase_letters_digits_dashes_and_underscores_make_a_handle(handle: str) -> None:
    assert handle_problem(handle) is None


@pytest.mark.parametrize("handle", ["", "Ada", "ada lovelace", "@ada", "ada.l", "-ada", "_ada",
                                    "a" * 31, "ada\n", "ådå"])
def test_anything_else_is_refused_with_the_rule_in_the_message(handle: str) -> None:
    problem = handle_problem(handle)
    assert problem is not None and "1 to 30 lowercase letters" in problem
