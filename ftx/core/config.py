"""All of ftx's options in one place.

``ftx.config.update('enable_checks', True)`` sets an option; each option can
also be set before import with an ``FTX_<NAME>`` environment variable
(``FTX_ENABLE_CHECKS=1``). ``with ftx.config.override(enable_checks=True):``
sets options for a block. The README lists every option.
"""
from __future__ import annotations

import contextlib
import os


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected a boolean (1/0/true/false), got {text!r}")


class _Option:
    __slots__ = ("name", "default", "parse", "doc", "validate", "env")

    def __init__(self, name, default, parse, doc, validate=None, env=None):
        self.name, self.default, self.parse, self.doc, self.validate = name, default, parse, doc, validate
        self.env = env


class Config:
    """The option registry; the single instance is ``ftx.config``."""

    def __init__(self):
        object.__setattr__(self, "_options", {})
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_watchers", {})

    def define(self, name: str, default, doc: str, parse=None, validate=None,
               env: str | None = None) -> None:
        """Declare an option (library code only). Reads ``FTX_<NAME>`` (or ``env``) once, now."""
        parse = parse or (_parse_bool if isinstance(default, bool) else type(default))
        env_name = env or "FTX_" + name.upper()
        self._options[name] = _Option(name, default, parse, doc, validate, env_name)
        env = os.environ.get(env_name)
        value = default
        if env is not None:
            try:
                value = parse(env)
            except ValueError as e:
                raise ValueError(f"environment variable {env_name}={env!r}: {e}") from None
        self._set(name, value)

    def _set(self, name, value):
        # Values live in the instance dict too, so reading an option is a plain attribute hit
        # (jit reads several on every call).
        self._values[name] = value
        object.__setattr__(self, name, value)
        for callback in self._watchers.get(name, ()):
            callback(value)

    def watch(self, name: str, callback) -> None:
        """Call ``callback(value)`` now and whenever option ``name`` changes (library code
        that caches an option in a hot path, like the eager NaN check)."""
        self._option(name)
        self._watchers.setdefault(name, []).append(callback)
        callback(self._values[name])

    def update(self, name: str, value) -> None:
        """``ftx.config.update('enable_checks', True)``."""
        option = self._option(name)
        if isinstance(option.default, bool) and not isinstance(value, bool):
            raise TypeError(f"ftx.config.update({name!r}, ...): expected a bool, got {value!r}")
        if option.validate is not None:
            option.validate(value)
        self._set(name, value)

    @contextlib.contextmanager
    def override(self, **values):
        """``with ftx.config.override(enable_checks=True): ...`` restores the old values after."""
        old = {name: getattr(self, name) for name in values}
        try:
            for name, value in values.items():
                self.update(name, value)
            yield self
        finally:
            for name, value in old.items():
                self._set(name, value)

    def describe(self) -> str:
        """One line per option: name, current value, meaning."""
        return "\n".join(f"{o.name} = {self._values[o.name]!r}  ({o.env}): {o.doc}"
                         for o in self._options.values())

    def _option(self, name):
        try:
            return self._options[name]
        except KeyError:
            raise AttributeError(f"ftx.config has no option {name!r}; the options are: "
                                 f"{', '.join(sorted(self._options))}") from None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        self._option(name)
        return self._values[name]

    def __setattr__(self, name, value):
        raise AttributeError(f"use ftx.config.update({name!r}, value) to change an option")

    def __dir__(self):
        return list(self._options) + ["update", "override", "describe", "watch"]


config = Config()

config.define("enable_checks", False,
              "type-check every traced jaxpr with check_jaxpr (slower tracing; for debugging ftx)")
config.define("cache_dir", "",
              "where compiled kernels are kept across processes (default: $XDG_CACHE_HOME/ftx or "
              "~/.cache/ftx)", parse=str)


def _check_cpu_threads(value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"cpu_threads must be an int >= 0 (0: one per available CPU), "
                         f"got {value!r}")


config.define("cpu_threads", 0,
              "threads that large fused loops on the CPU backend are split across; 0 means one "
              "per CPU available to the process, 1 keeps every kernel on the calling thread",
              validate=_check_cpu_threads)


def _check_pool_bytes(value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"cpu_buffer_pool_bytes must be an int >= 0 (0: no reuse), got {value!r}")


config.define("cpu_buffer_pool_bytes", 1 << 30,
              "bytes of memory the CPU backend keeps to reuse for compiled functions' large "
              "arrays across calls (saves page faults); 0 allocates every array afresh",
              validate=_check_pool_bytes)
