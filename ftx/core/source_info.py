"""Finding the user's line: the innermost stack frame outside the ftx package."""
from __future__ import annotations

import os
import sys

_FTX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class SourceInfo:
    """Where an equation or tracer came from: ``file.py:12 (loss)``."""

    __slots__ = ("filename", "lineno", "function")

    def __init__(self, filename: str, lineno: int, function: str):
        self.filename, self.lineno, self.function = filename, lineno, function

    def __str__(self):
        return f"{self.filename}:{self.lineno} ({self.function})"

    __repr__ = __str__


def _is_internal(filename: str) -> bool:
    # Files under ftx/ are internal, except the test suite and examples users read as their own.
    return filename.startswith(_FTX_DIR) or filename.startswith("<frozen")


_internal_code: dict = {}  # code object -> is it ftx's own? (tracing asks for every equation)


def user_frame(skip: int = 1):
    """The innermost frame whose code is not part of ftx (or None)."""
    frame = sys._getframe(skip)
    cache = _internal_code
    while frame is not None:
        code = frame.f_code
        internal = cache.get(code)
        if internal is None:
            internal = cache[code] = _is_internal(code.co_filename)
        if not internal:
            return frame
        frame = frame.f_back
    return None


def current_source_info() -> SourceInfo | None:
    frame = user_frame(2)
    if frame is None:
        return None
    return SourceInfo(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def function_source_info(fun) -> str:
    """``'loss at train.py:12'`` for a Python function; its repr otherwise."""
    while getattr(fun, "__wrapped__", None) is not None:  # name what the user wrote, not a wrapper
        fun = fun.__wrapped__
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)
    code = getattr(fun, "__code__", None)
    if code is None:
        wrapped = getattr(fun, "__wrapped__", None) or getattr(fun, "func", None)
        code = getattr(wrapped, "__code__", None)
    if code is None:
        return name
    return f"{name} at {code.co_filename}:{code.co_firstlineno}"
