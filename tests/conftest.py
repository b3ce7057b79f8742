"""pytest setup for Nightjar's end-to-end tests (see nightjar_harness.py for the helpers).

Environment:
  NIGHTJAR_BIN            the nightjar binary (default build/release/nightjar)
  NIGHTJAR_EXAMPLES_DIR   directory with lib{nop,echo,...}.so (default build/release/examples/cpp)
  NIGHTJAR_QUICK=1        skip the tests marked `heavy` (the 200 x 100 concurrency run)
"""
import os

import pytest

import nightjar_harness as nj


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "heavy: long-running load test; skipped with NIGHTJAR_QUICK=1")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("NIGHTJAR_QUICK") == "1":
        skip = pytest.mark.skip(reason="NIGHTJAR_QUICK=1")
        for item in items:
            if "heavy" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def prerequisites():
    """Every test needs the built binary and the example functions: say what is missing."""
    problem = nj.check_prerequisites()
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="module")
def shared_deployment(tmp_path_factory):
    """One `nightjar up` with every example function, shared by a module's non-destructive
    tests. Its shutdown is checked (exit 0, nothing left under the IPC root) at module end."""
    with nj.nightjar_up(tmp_path_factory.mktemp("up")) as dep:
        yield dep


@pytest.fixture
def dep(shared_deployment):
    """The shared deployment, checked to be alive before and after each test, so a crash of
    the gateway or engine is blamed on the test that caused it."""
    shared_deployment.assert_alive()
    yield shared_deployment
    shared_deployment.assert_alive()
