"""Storyden page pagination: `?page=` from 1, answers with page_size/results/total_pages."""

from __future__ import annotations

import math

from app.api.problems import ProblemError


def parse_page(page: str | None) -> int:
    """Storyden sends the page as a string; pages start at 1."""
    if page is None or page == "":
        return 1
    if not page.isdigit() or int(page) < 1:
        raise ProblemError(400, f"page must be a whole number from 1, not {page!r}",
                           slug="invalid-request", metadata={"parameter": "page"})
    return int(page)


def page_numbers(current: int, total: int, page_size: int) -> tuple[int, int | None]:
    """(total_pages, next_page or None)."""
    total_pages = max(1, math.ceil(total / page_size))
    return total_pages, current + 1 if current < total_pages else None
