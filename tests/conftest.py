"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from assessment import paths


@pytest.fixture(scope="session")
def catalogue_path() -> Path:
    """The demo catalogue committed at the project root."""
    return paths.DEMO_CATALOGUE


@pytest.fixture(scope="session")
def shared_police_dir() -> Path:
    """The real data.police.uk files beside the project; skip when absent."""
    folder = paths.SHARED_POLICE_UK_DIR / "city-of-london"
    if not folder.is_dir():
        pytest.skip(f"real data.police.uk files not found at {folder} (../shared is absent on this machine)")
    return folder
