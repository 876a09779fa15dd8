"""Fixtures of the explorer tests: the artifacts of three problems in a tmp dir."""

from pathlib import Path

import pytest
from explorer_artifacts import Artifacts, write_artifacts


@pytest.fixture
def artifacts(tmp_path: Path) -> Artifacts:
    return write_artifacts(tmp_path)
