"""ftx.lax: the primitive operations, in the style of jax.lax."""
from ftx.lax.elementwise import *  # noqa: F401,F403
