"""Fixtures of the fuzz suite."""

from __future__ import annotations

import pytest

from tests.fuzz.repocheck import check_repo


@pytest.fixture
def repo_check() -> object:
    """``repo_check(root, expect_pins=None, tmp_must_be_empty=False) -> RepoReport``."""
    return check_repo
