"""``Module``: immutable dataclass pytrees, and the functional tools around them.

A module is a frozen dataclass whose fields are pytree children (parameters,
submodules) unless declared ``field(static=True)`` (sizes, activation functions,
flags: hashable values that become part of the tree structure, so ``jit`` retraces
when they change). Subclasses are made dataclasses and registered as pytrees
automatically::

    class Affine(nn.Module):
        weight: np.ndarray
        bias: np.ndarray
        name: str = nn.field(static=True, default="affine")

        def __call__(self, x):
            return x @ self.weight + self.bias

A subclass may write its own ``__init__`` that assigns every field (``self.weight =
...``); after construction the instance is immutable. Change one with
``module.replace(weight=w)`` or ``nn.tree_at(lambda m: m.layers[0].weight, model, w)``.
Rebuilding from leaves (``tree_unflatten``, every transform) never calls ``__init__``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from ftx.core import dtypes
from ftx.core.pytree import (GetAttrKey, keystr, register_pytree_with_keys, tree_flatten,
                             tree_flatten_with_path, tree_leaves, tree_map, tree_structure,
                             tree_unflatten)

__all__ = ["Module", "field", "static_field", "tree_at", "make_functional", "functional_call",
           "named_parameters", "stack_modules", "unstack_modules"]

# ids of instances whose __init__ is running: only they may set attributes.
_INITIALIZING: set[int] = set()


def field(*, static: bool = False, **kwargs) -> dataclasses.Field:
    """A dataclass field; ``static=True`` makes it part of the tree structure, not a child.

    ``activation: Callable = field(static=True, default=relu)``. Other keyword arguments
    are ``dataclasses.field``'s (``default``, ``default_factory``, ``repr``, ...).
    """
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata["static"] = static
    return dataclasses.field(metadata=metadata, **kwargs)


def static_field(**kwargs) -> dataclasses.Field:
    """``field(static=True, ...)``: ``depth: int = static_field(default=2)``."""
    return field(static=True, **kwargs)


class _ModuleMeta(type):
    """Runs ``__init__`` with attribute assignment allowed, then checks every field was set."""

    def __call__(cls, *args, **kwargs):
        self = cls.__new__(cls)
        _INITIALIZING.add(id(self))
        try:
            self.__init__(*args, **kwargs)
        finally:
            _INITIALIZING.discard(id(self))
        missing = [n for n in cls._ftx_fields if n not in self.__dict__]
        if missing:
            raise TypeError(f"{cls.__qualname__}.__init__ did not set the field(s) "
                            f"{', '.join(missing)}; assign every field (None is fine)")
        return self


def _check_hashable(cls, names, values):
    try:
        hash(values)
    except TypeError:
        for n, v in zip(names, values):
            try:
                hash(v)
            except TypeError:
                raise TypeError(
                    f"static field {n!r} of {cls.__qualname__} must be hashable (it is part of "
                    f"the tree structure), got {type(v).__name__}: {v!r}. Use a tuple instead "
                    "of a list, or make it a regular field.") from None
        raise


def _register(cls):
    fields = [f for f in dataclasses.fields(cls)]
    data = tuple(f.name for f in fields if not f.metadata.get("static", False))
    meta = tuple(f.name for f in fields if f.metadata.get("static", False))
    keys = tuple(GetAttrKey(n) for n in data)
    cls._ftx_fields = tuple(f.name for f in fields)

    def flatten(x):
        d = x.__dict__
        aux = tuple([d[n] for n in meta])
        _check_hashable(cls, meta, aux)
        return [d[n] for n in data], aux

    def flatten_with_keys(x):
        children, aux = flatten(x)
        return list(zip(keys, children)), aux

    def unflatten(aux, children):
        obj = object.__new__(cls)
        d = obj.__dict__
        d.update(zip(meta, aux))
        d.update(zip(data, children))
        return obj

    register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)


class Module(metaclass=_ModuleMeta):
    """Base class of ftx.nn layers: a frozen dataclass that is a pytree.

    ``nn.Linear(3, 2, key=random.key(0))`` prints as ``Linear(weight=f32[2,3], ...)``; its
    array fields are leaves for ``grad``/``vmap``/``jit``; ``.replace(bias=b)`` returns an
    updated copy.
    """

    _ftx_fields: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A hand-written __init__ (here or inherited) wins over the generated one.
        custom_init = "__init__" in cls.__dict__ or getattr(cls, "_ftx_custom_init", False)
        cls._ftx_custom_init = custom_init
        dataclasses.dataclass(cls, init=not custom_init, repr=False, eq=False)
        _register(cls)

    def __setattr__(self, name, value):
        if id(self) in _INITIALIZING:
            if name not in type(self)._ftx_fields:
                raise AttributeError(
                    f"{type(self).__qualname__}.{name} is not a declared field; declare it in "
                    f"the class body (`{name}: Any`, or `{name}: int = field(static=True)`)")
            object.__setattr__(self, name, value)
            return
        raise dataclasses.FrozenInstanceError(
            f"cannot assign {type(self).__qualname__}.{name}: modules are immutable. Use "
            f"module.replace({name}=...) or ftx.nn.tree_at(lambda m: m.{name}, module, ...)")

    def __delattr__(self, name):
        raise dataclasses.FrozenInstanceError(
            f"cannot delete {type(self).__qualname__}.{name}: modules are immutable")

    def replace(self, **changes) -> "Module":
        """A copy with some fields changed: ``linear.replace(bias=None)`` (no ``__init__`` call)."""
        names = type(self)._ftx_fields
        unknown = [n for n in changes if n not in names]
        if unknown:
            raise TypeError(f"{type(self).__qualname__}.replace: unknown field(s) "
                            f"{', '.join(unknown)}; the fields are {', '.join(names)}")
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def __repr__(self):
        return _pformat(self, 0)


# =========================================================================== pretty printing

def _array_str(x) -> str | None:
    aval = getattr(x, "aval", None)
    if aval is not None and hasattr(aval, "str_short"):
        return aval.str_short()
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind != "O":
        return f"{dtypes.short_name(x.dtype)}[{','.join(map(str, x.shape))}]"
    if type(x).__name__ == "KeyArray" and hasattr(x, "shape"):
        return f"key<fry>[{','.join(map(str, x.shape))}]"
    return None


def _pformat(x, indent: int) -> str:
    short = _array_str(x)
    if short is not None:
        return short
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(x, Module):
        items = [(f.name, x.__dict__.get(f.name, "<unset>"))
                 for f in dataclasses.fields(x) if f.repr]
        if not items:
            return f"{type(x).__name__}()"
        body = ",\n".join(f"{inner}{n}={_pformat(v, indent + 2)}" for n, v in items)
        return f"{type(x).__name__}(\n{body}\n{pad})"
    if type(x) in (list, tuple) and x:
        parts = [_pformat(v, indent + 2) for v in x]
        open_, close = ("[", "]") if type(x) is list else ("(", ")")
        if any("\n" in p for p in parts):
            return f"{open_}\n" + ",\n".join(inner + p for p in parts) + f"\n{pad}{close}"
        if type(x) is tuple and len(parts) == 1:
            return f"({parts[0]},)"
        return open_ + ", ".join(parts) + close
    if type(x) is dict and x:
        parts = [f"{k!r}: {_pformat(v, indent + 2)}" for k, v in x.items()]
        if any("\n" in p for p in parts):
            return "{\n" + ",\n".join(inner + p for p in parts) + f"\n{pad}}}"
        return "{" + ", ".join(parts) + "}"
    if callable(x) and hasattr(x, "__name__") and not isinstance(x, type):
        return f"<function {x.__name__}>"
    return repr(x)


# =========================================================================== tree_at

class _Leaf:
    """Stands in for the i-th leaf while ``where`` picks nodes (identity marks the position)."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"<leaf {self.index}>"


_MISSING = object()


def tree_at(where: Callable[[Any], Any], pytree, replace=_MISSING, replace_fn=_MISSING,
            is_leaf=None):
    """A copy of ``pytree`` with the node(s) that ``where`` selects replaced (equinox's tree_at).

    ``tree_at(lambda m: m.layers[0].weight, model, new_w)``; ``where`` may return a tuple
    of nodes, with ``replace`` a tuple of the same length; ``replace_fn(old) -> new``
    instead transforms each selected node. Nodes may be leaves or whole subtrees;
    ``None`` fields are not nodes: select them with ``is_leaf=lambda x: x is None``.
    """
    if (replace is _MISSING) == (replace_fn is _MISSING):
        raise TypeError("tree_at: pass exactly one of replace= and replace_fn=")
    leaves, treedef = tree_flatten(pytree, is_leaf=is_leaf)
    shadow = tree_unflatten(treedef, [_Leaf(i) for i in range(len(leaves))])
    nodes: dict[int, Any] = {}

    def collect(node):
        nodes[id(node)] = node
        return isinstance(node, _Leaf)

    tree_leaves(shadow, is_leaf=collect)
    picked = where(shadow)
    shared = lambda n: n is None or (type(n) is tuple and not n)  # noqa: E731
    if shared(picked) or (isinstance(picked, (tuple, list)) and any(map(shared, picked))):
        # None and () are singletons: their position in the tree cannot be told apart.
        raise ValueError("tree_at: `where` selected None or an empty tuple, which are not "
                         "nodes that can be located; to replace a None field pass "
                         "is_leaf=lambda x: x is None")
    single = id(picked) in nodes
    chosen = [picked] if single else (list(picked) if isinstance(picked, (tuple, list)) else None)
    if chosen is None or any(id(c) not in nodes for c in chosen):
        raise ValueError("tree_at: `where` must return a node of the tree it is given (a leaf or "
                         "subtree reached by attribute access/indexing), or a tuple of such "
                         "nodes; it returned something else. None fields are not nodes unless "
                         "is_leaf=lambda x: x is None.")
    if len({id(c) for c in chosen}) != len(chosen):
        raise ValueError("tree_at: `where` selected the same node twice")
    if replace is not _MISSING and not single:
        if not isinstance(replace, (tuple, list)) or len(replace) != len(chosen):
            raise ValueError(f"tree_at: `where` selected {len(chosen)} nodes, so `replace` must "
                             f"be a sequence of {len(chosen)} values")
    if not single:
        for c in chosen:  # selecting a node and one of its descendants is ambiguous
            inside = {id(n) for n in _subnodes(c)} - {id(c)}
            if any(id(o) in inside for o in chosen):
                raise ValueError("tree_at: `where` selected a node and a node inside it")
    replacement = {}
    for k, c in enumerate(chosen):
        if replace_fn is not _MISSING:
            original = tree_map(lambda m: leaves[m.index], c,
                                is_leaf=lambda m: isinstance(m, _Leaf))
            replacement[id(c)] = replace_fn(original)
        else:
            replacement[id(c)] = replace if single else replace[k]

    def rebuild(node):
        if id(node) in replacement:
            return replacement[id(node)]
        return leaves[node.index]

    return tree_map(rebuild, shadow,
                    is_leaf=lambda n: id(n) in replacement or isinstance(n, _Leaf))


def _subnodes(tree):
    out = []
    tree_leaves(tree, is_leaf=lambda n: out.append(n) or isinstance(n, _Leaf))
    return out


# =========================================================================== torch.func style

def _is_param(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return (isinstance(dtype, np.dtype) and dtype.kind in "fc"
            and (isinstance(x, (np.ndarray, np.generic)) or hasattr(x, "aval")))


def _path_name(path) -> str:
    return keystr(path, simple=True, separator=".")


def named_parameters(module) -> dict:
    """``{"layers.0.weight": array, ...}``: every floating-point array leaf, by dotted path."""
    return {_path_name(p): x for p, x in tree_flatten_with_path(module)[0] if _is_param(x)}


def functional_call(module, params: dict, *args, **kwargs):
    """Call ``module(*args, **kwargs)`` with some of its arrays replaced (torch.func style).

    ``functional_call(model, {"layers.0.weight": w}, x)``. ``params`` maps dotted names
    (see ``named_parameters``) to arrays; names it leaves out keep the module's values.
    """
    pairs, treedef = tree_flatten_with_path(module)
    names = [_path_name(p) for p, _ in pairs]
    unknown = set(params) - set(names)
    if unknown:
        raise KeyError(f"functional_call: no parameter(s) named {sorted(unknown)} in "
                       f"{type(module).__name__}; the names are {names}")
    leaves = [params.get(n, x) for n, (_, x) in zip(names, pairs)]
    return tree_unflatten(treedef, leaves)(*args, **kwargs)


def make_functional(module):
    """``apply_fn, params = make_functional(model)``; ``apply_fn(params, x) == model(x)``.

    ``params`` is ``named_parameters(model)`` (a dict, so a pytree for ``grad`` and
    ftx.optim); ``apply_fn(params, *args, **kwargs)`` is ``functional_call(model, params,
    *args, **kwargs)``.
    """
    def apply_fn(params, *args, **kwargs):
        return functional_call(module, params, *args, **kwargs)

    return apply_fn, named_parameters(module)


def stack_modules(modules):
    """One module whose array leaves stack those of ``modules`` on a new axis 0 (an ensemble).

    ``ftx.vmap(lambda m, x: m(x), in_axes=(0, None))(stack_modules(models), x)`` runs every
    model on ``x``. The modules must have the same structure (type, static fields, shapes).
    """
    from ftx import numpy as fnp
    modules = list(modules)
    if not modules:
        raise ValueError("stack_modules: got no modules")
    first = tree_structure(modules[0])
    for i, m in enumerate(modules[1:], 1):
        if tree_structure(m) != first:
            raise ValueError(f"stack_modules: module {i} has a different structure from module "
                             f"0 (type, static fields or None fields differ):\n{tree_structure(m)}"
                             f"\nvs\n{first}")
    return tree_map(lambda *xs: fnp.stack(xs), *modules)


def unstack_modules(stacked) -> list:
    """The inverse of ``stack_modules``: ``unstack_modules(stack_modules(ms))`` equals ``ms``."""
    leaves, treedef = tree_flatten(stacked)
    if not leaves:
        raise ValueError("unstack_modules: the module has no array leaves to unstack")
    n = np.shape(leaves[0])[0]
    return [tree_unflatten(treedef, [x[i] for x in leaves]) for i in range(n)]
