"""ftx.scipy: SciPy-compatible functions written with ftx.lax (SciPy itself is not needed)."""
from ftx.scipy import special

__all__ = ["special"]
