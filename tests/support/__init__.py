"""Helpers that tests share: building rows, making requests, asserting answers.

Fixtures stay in the conftest.py files; these are plain functions a test imports by name."""
