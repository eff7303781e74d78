"""pytest's set-up for the notebooks that nbval runs (the tests have their own in tests/conftest.py).

A code cell tagged `figure-only` only draws a figure: it defines nothing that a later cell uses, asserts
nothing and has no checked output (tests/test_notebooks.py checks that). `make test` skips such cells in
the real-weight nbval run, because the random-weight test mode of the same `make test` runs every cell of
every notebook; `make notebooks` runs them too (LECTUREKIT_FIGURE_CELLS=1)."""
import os

import pytest

FIGURE_ONLY = "figure-only"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LECTUREKIT_FIGURE_CELLS", "") not in ("", "0"):
        return
    skip = pytest.mark.skip(reason="figure-only cell: run by the test mode here, with real weights by `make notebooks`")
    for item in items:
        cell = getattr(item, "cell", None)
        if isinstance(cell, dict) and FIGURE_ONLY in cell.get("metadata", {}).get("tags", []):
            item.add_marker(skip)
