"""transformers.utils.logging, as far as generate.py uses it."""
from types import SimpleNamespace

logging = SimpleNamespace(set_verbosity_error=lambda: None)
