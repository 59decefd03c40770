"""Tests for assessment/reporting/hashing.py: file fingerprints against hashlib itself."""

from __future__ import annotations

import hashlib

from assessment.reporting import execute, hashing


def test_sha256_file_matches_hashlib(tmp_path):
    data = bytes(range(256)) * 9000  # larger than one read chunk below
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    assert hashing.sha256_file(f) == hashlib.sha256(data).hexdigest()
    assert hashing.sha256_file(f, chunk=1000) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert hashing.sha256_file(empty) == hashlib.sha256(b"").hexdigest()


def test_execute_keeps_its_name_for_the_same_function():
    assert execute.sha256_file is hashing.sha256_file
