"""Suite-wide: the `slow` marker (registered in pyproject.toml).

`make test-fast` runs `pytest -m "not slow"` (the pure core); `make test` and CI run everything. Tests are
marked by hand (module `pytestmark` or a decorator); as a safety net, a test that asks for one of the
fixtures below (each starts an external server) is marked slow whatever its module says.
"""

from __future__ import annotations

import pytest

SLOW_FIXTURES = frozenset({"net", "taky_server"})  # tests/share/conftest.py: nats-servers; taky: a TAK server


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
