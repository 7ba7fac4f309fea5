"""The reports' tests use the workbench bank (tests/workbench/conftest.py): outlets O1 and O2,
X (GOLD, 500,000) owned by cm_owner at O1, Y (ORDINARY, 200,000) owned by cm_other at O2."""

from tests.workbench.conftest import _fast_hasher, _static_root, bank, login  # noqa: F401
