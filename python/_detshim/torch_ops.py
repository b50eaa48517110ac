"""Deterministic replacements for the PyTorch CUDA ops that PyTorch's
deterministic mode refuses (docs/DESIGN.md §11)."""


def install(torch):
    """Register the replacements (called once torch is imported)."""
