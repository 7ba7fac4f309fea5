"""Reuse the workbench's small bank (outlets, personas, five customers)."""

from tests.workbench.conftest import _fast_hasher, bank, login  # noqa: F401
