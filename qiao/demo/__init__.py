"""The synthetic bank used by ``qiao demo`` and the benchmarks."""

from .generate import generate_bank

__all__ = ["generate_bank"]
