"""The shared sandbox behaviour suite (tests/sandbox), on the Docker backend; see `shared.py`."""

from tests.sandbox import test_confinement, test_hostile, test_local_pool, test_requirements, test_tools
from tests.sandbox.test_confinement import listener  # noqa: F401  # a fixture the shared tests use
from tests.sandbox_docker.shared import shared_tests

for _module in (test_tools, test_hostile, test_confinement, test_requirements, test_local_pool):
    globals().update(shared_tests(_module))
