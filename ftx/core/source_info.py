"""Finding the user's line: the innermost stack frame outside the ftx package."""
from __future__ import annotations

import operator
import os
import sys

_FTX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class SourceInfo(tuple):
    """Where an equation or tracer came from: ``file.py:12 (loss)``.

    A tuple ``(filename, lineno, function)``: tracing makes one per equation, and a tuple
    is built in C.
    """

    __slots__ = ()

    def __new__(cls, filename: str, lineno: int, function: str):
        return _new_tuple(cls, (filename, lineno, function))

    filename = property(operator.itemgetter(0))
    lineno = property(operator.itemgetter(1))
    function = property(operator.itemgetter(2))

    def __str__(self):
        return f"{self[0]}:{self[1]} ({self[2]})"

    __repr__ = __str__

    def __getnewargs__(self):  # pickling and copying go through __new__'s signature
        return tuple(self)


_new_tuple = tuple.__new__


def _is_internal(filename: str) -> bool:
    # Files under ftx/ are internal, except the test suite and examples users read as their own.
    return filename.startswith(_FTX_DIR) or filename.startswith("<frozen")


# filename -> is it ftx's own? Tracing asks for every equation; a str caches its hash.
_internal_files: dict = {}


def user_frame(skip: int = 1):
    """The innermost frame whose code is not part of ftx (or None)."""
    frame = sys._getframe(skip)
    known = _internal_files.get
    while frame is not None:
        filename = frame.f_code.co_filename
        internal = known(filename)
        if internal is None:
            internal = _internal_files[filename] = _is_internal(filename)
        if not internal:
            return frame
        frame = frame.f_back
    return None


def current_source_info() -> SourceInfo | None:
    frame = user_frame(2)
    if frame is None:
        return None
    code = frame.f_code
    return _new_tuple(SourceInfo, (code.co_filename, frame.f_lineno, code.co_name))


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
