"""Pytrees: nested containers whose leaves ftx transforms operate on.

Semantics follow ``jax.tree_util``. A pytree is either a *node* (a value whose
type is registered: tuple, list, dict, None, namedtuple, OrderedDict,
defaultdict, or a user-registered type) or a *leaf* (anything else).
Flattening a pytree yields its leaves in a fixed order plus a ``PyTreeDef``
describing everything that is not a leaf.

This module is part of the core layer, so it imports nothing from ftx.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import Any, Callable, Hashable, Iterable

__all__ = [
    "PyTreeDef",
    "DictKey",
    "SequenceKey",
    "GetAttrKey",
    "FlattenedIndexKey",
    "Partial",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_pytree_with_keys",
    "register_pytree_with_keys_class",
    "register_dataclass",
    "register_static",
    "tree_flatten",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_map",
    "tree_all",
    "tree_reduce",
    "tree_transpose",
    "tree_flatten_with_path",
    "tree_leaves_with_path",
    "tree_map_with_path",
    "treedef_is_leaf",
    "treedef_children",
    "all_leaves",
    "build_tree",
    "keystr",
]


# ---------------------------------------------------------------------------
# Key path entries
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DictKey:
    """Path entry for a mapping child. ``str(DictKey('a')) == "['a']"``."""

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """Path entry for a tuple/list child. ``str(SequenceKey(0)) == "[0]"``."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """Path entry for an attribute child. ``str(GetAttrKey('w')) == ".w"``."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """Path entry for the i-th child of a custom node registered without keys.

    ``str(FlattenedIndexKey(1)) == "[<flat index 1>]"``.
    """

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


def keystr(keys: Iterable[Any], *, simple: bool = False, separator: str = "") -> str:
    """Render a key path as a string.

    Example: ``keystr((DictKey('a'), SequenceKey(0)))`` -> ``"['a'][0]"``;
    ``keystr((DictKey('a'), SequenceKey(0)), simple=True, separator='/')`` -> ``"a/0"``.
    """
    str_fn = _simple_keystr if simple else str
    return separator.join(str_fn(k) for k in keys)


def _simple_keystr(key: Any) -> str:
    if isinstance(key, SequenceKey):
        return str(key.idx)
    if isinstance(key, (DictKey, FlattenedIndexKey)):
        return str(key.key)
    if isinstance(key, GetAttrKey):
        return str(key.name)
    return str(key)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

# Node kinds. Plain ints so the hot loop compares cheaply.
_LEAF = 0
_NONE = 1
_TUPLE = 2
_LIST = 3
_DICT = 4
_NAMEDTUPLE = 5
_CUSTOM = 6


class _Entry:
    """How to take apart and rebuild one registered node type."""

    __slots__ = ("type", "kind", "flatten", "unflatten", "flatten_with_keys")

    def __init__(self, type_, kind, flatten=None, unflatten=None, flatten_with_keys=None):
        self.type = type_
        self.kind = kind
        self.flatten = flatten
        self.unflatten = unflatten
        self.flatten_with_keys = flatten_with_keys


# Exact type -> entry. Exact-type lookup (not isinstance) is both JAX's rule
# (subclasses of registered types are leaves unless registered themselves)
# and what keeps flattening fast.
_registry: dict[type, _Entry] = {
    tuple: _Entry(tuple, _TUPLE),
    list: _Entry(list, _LIST),
    dict: _Entry(dict, _DICT),
    type(None): _Entry(type(None), _NONE),
}
_NAMEDTUPLE_ENTRY = _Entry(None, _NAMEDTUPLE)


def _indexed_keys_from(flatten_func):
    def flatten_with_keys(x):
        children, aux = flatten_func(x)
        return [(FlattenedIndexKey(i), c) for i, c in enumerate(children)], aux

    return flatten_with_keys


def _register(nodetype, flatten_func, unflatten_func, flatten_with_keys_func):
    if not isinstance(nodetype, type):
        raise TypeError(f"pytree node type must be a class, got {nodetype!r}")
    if nodetype in _registry:
        raise ValueError(
            f"Duplicate pytree node registration for {nodetype.__qualname__}: "
            "this type is already a pytree node type"
        )
    if flatten_with_keys_func is None:
        flatten_with_keys_func = _indexed_keys_from(flatten_func)
    _registry[nodetype] = _Entry(
        nodetype, _CUSTOM, flatten_func, unflatten_func, flatten_with_keys_func
    )


def register_pytree_node(
    nodetype: type,
    flatten_func: Callable[[Any], tuple[Iterable[Any], Hashable]],
    unflatten_func: Callable[[Hashable, Iterable[Any]], Any],
    flatten_with_keys_func: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Hashable]] | None = None,
) -> None:
    """Make ``nodetype`` a pytree node type.

    ``flatten_func(x) -> (children, aux_data)``; ``unflatten_func(aux_data, children) -> x``.
    Without ``flatten_with_keys_func`` children get ``FlattenedIndexKey(i)`` paths.

    Example: ``register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))``.
    """
    _register(nodetype, flatten_func, unflatten_func, flatten_with_keys_func)


def register_pytree_with_keys(
    nodetype: type,
    flatten_with_keys: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Hashable]],
    unflatten_func: Callable[[Hashable, Iterable[Any]], Any],
    flatten_func: Callable[[Any], tuple[Iterable[Any], Hashable]] | None = None,
) -> None:
    """Make ``nodetype`` a pytree node type whose children carry path keys.

    ``flatten_with_keys(x) -> ([(key, child), ...], aux_data)``.

    Example: ``register_pytree_with_keys(Pair, lambda p: (((GetAttrKey('a'), p.a),), None), lambda _, c: Pair(*c))``.
    """
    if flatten_func is None:

        def flatten_func(x):
            pairs, aux = flatten_with_keys(x)
            return [c for _, c in pairs], aux

    _register(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls: type) -> type:
    """Class decorator: register ``cls`` via ``cls.tree_flatten()`` and classmethod ``cls.tree_unflatten``.

    Example: ``@register_pytree_node_class class Box: ...``.
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_pytree_with_keys_class(cls: type) -> type:
    """Class decorator: register ``cls`` via ``tree_flatten_with_keys()`` and ``tree_unflatten``.

    Uses ``cls.tree_flatten`` too when the class defines it.
    Example: ``@register_pytree_with_keys_class class Box: ...``.
    """
    flatten_func = (lambda x: x.tree_flatten()) if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(
        cls, lambda x: x.tree_flatten_with_keys(), cls.tree_unflatten, flatten_func
    )
    return cls


def register_static(cls: type) -> type:
    """Make instances of ``cls`` childless nodes whose aux data is the instance itself.

    Instances therefore must be hashable. Example: ``@register_static class Config: ...``.
    """
    register_pytree_node(cls, lambda x: ((), x), lambda aux, _: aux)
    return cls


def register_dataclass(
    nodetype: type,
    data_fields: Iterable[str] | None = None,
    meta_fields: Iterable[str] | None = None,
    drop_fields: Iterable[str] = (),
) -> type:
    """Register a class whose data fields are children and meta fields are static aux data.

    As a decorator on a ``@dataclasses.dataclass``, fields declared with
    ``dataclasses.field(metadata=dict(static=True))`` are meta fields and the
    other ``init`` fields are data fields. Rebuilding calls ``nodetype(**fields)``.

    Example: ``register_dataclass(Point, data_fields=['x', 'y'], meta_fields=['name'])``.
    """
    if data_fields is None or meta_fields is None:
        if (data_fields is None) != (meta_fields is None):
            raise TypeError(
                "register_dataclass: data_fields and meta_fields must both be given "
                f"when either is; got data_fields={data_fields!r}, meta_fields={meta_fields!r}"
            )
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(
                "register_dataclass: data_fields and meta_fields are required when "
                f"{nodetype!r} is not a dataclass"
            )
        data_fields, meta_fields = [], []
        for f in dataclasses.fields(nodetype):
            if not f.init:
                continue
            (meta_fields if f.metadata.get("static", False) else data_fields).append(f.name)
    if isinstance(data_fields, str) or isinstance(meta_fields, str) or isinstance(drop_fields, str):
        raise TypeError("register_dataclass: data_fields, meta_fields and drop_fields must be lists of names")
    data_fields = tuple(data_fields)
    meta_fields = tuple(meta_fields)
    drop_fields = tuple(drop_fields)

    if dataclasses.is_dataclass(nodetype):
        init_fields = {f.name for f in dataclasses.fields(nodetype) if f.init}
        init_fields.difference_update(drop_fields)
        given = set(data_fields) | set(meta_fields)
        if given != init_fields:
            raise ValueError(
                f"register_dataclass: data_fields and meta_fields of {nodetype.__qualname__} "
                f"must together name every init field except drop_fields; "
                f"missing {sorted(init_fields - given)}, unexpected {sorted(given - init_fields)}"
            )

    name = nodetype.__qualname__

    def get_meta(x):
        meta = tuple(getattr(x, n) for n in meta_fields)
        try:
            hash(meta)
        except TypeError:
            for n, v in zip(meta_fields, meta):
                try:
                    hash(v)
                except TypeError:
                    raise TypeError(
                        f"register_dataclass: meta (static) field {n!r} of {name} must be "
                        f"hashable, got unhashable {type(v).__name__}: {v!r}. Make it a data "
                        "field, or use a hashable value (e.g. a tuple instead of a list)."
                    ) from None
            raise
        return meta

    def flatten(x):
        return [getattr(x, n) for n in data_fields], get_meta(x)

    def flatten_with_keys(x):
        return [(GetAttrKey(n), getattr(x, n)) for n in data_fields], get_meta(x)

    def unflatten(meta, children):
        kwargs = dict(zip(meta_fields, meta))
        kwargs.update(zip(data_fields, children))
        return nodetype(**kwargs)

    _register(nodetype, flatten, unflatten, flatten_with_keys)
    return nodetype


# OrderedDict keeps insertion order (that order is part of its identity);
# defaultdict follows dict and sorts, keeping default_factory as aux data.
register_pytree_with_keys(
    collections.OrderedDict,
    lambda x: ([(DictKey(k), v) for k, v in x.items()], tuple(x)),
    lambda keys, values: collections.OrderedDict(zip(keys, values)),
    lambda x: (list(x.values()), tuple(x)),
)


def _defaultdict_flatten_with_keys(x):
    keys = _sorted_keys(x)
    return [(DictKey(k), x[k]) for k in keys], (x.default_factory, keys)


def _defaultdict_flatten(x):
    keys = _sorted_keys(x)
    return [x[k] for k in keys], (x.default_factory, keys)


register_pytree_with_keys(
    collections.defaultdict,
    _defaultdict_flatten_with_keys,
    lambda aux, values: collections.defaultdict(aux[0], zip(aux[1], values)),
    _defaultdict_flatten,
)


def _sorted_keys(d) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError as e:
        types = sorted({type(k).__name__ for k in d})
        raise TypeError(
            "pytree: dict keys must be mutually sortable, because they are sorted to "
            f"fix the leaf order; got keys of types {', '.join(types)} ({e}). Use keys "
            "of one comparable type, or an OrderedDict (which keeps insertion order)."
        ) from None


# ---------------------------------------------------------------------------
# PyTreeDef
# ---------------------------------------------------------------------------

_new = object.__new__


def _aux_eq(a, b) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"PyTreeDef: cannot compare aux data {a!r} with {b!r} ({e}); aux data "
            "(static/meta fields) must be hashable values with a boolean =="
        ) from None


class PyTreeDef:
    """Immutable, hashable description of a pytree's structure (everything but the leaves).

    Example: ``tree_structure({'a': 1, 'b': [2, None]})`` -> ``PyTreeDef({'a': *, 'b': [*, None]})``.
    """

    # Immutability is by convention: the public surface is read-only properties
    # and __slots__ forbids new attributes. A __setattr__ guard would make every
    # internal construction go through object.__setattr__, which costs ~4x more
    # per node on the flatten hot path.

    __slots__ = ("_kind", "_type", "_entry", "_aux", "_children", "_num_leaves", "_num_nodes", "_hash")

    def __new__(cls, *args, **kwargs):
        raise TypeError("PyTreeDef cannot be built directly; use tree_structure(tree)")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    @property
    def num_leaves(self) -> int:
        """Number of leaves. Example: ``tree_structure((1, [2])).num_leaves == 2``."""
        return self._num_leaves

    @property
    def num_nodes(self) -> int:
        """Number of nodes, leaves and None included. Example: ``tree_structure((1, 2)).num_nodes == 3``."""
        n = self._num_nodes
        if n is None:
            n = 1 + sum(c.num_nodes for c in self._children)
            self._num_nodes = n
        return n

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """Build a pytree of this structure from ``leaves``. Example: ``tree_structure((1, 2)).unflatten([3, 4]) == (3, 4)``."""
        leaves = list(leaves)
        if len(leaves) != self._num_leaves:
            raise ValueError(
                f"unflatten: {self!r} has {self._num_leaves} leaves, but "
                f"{len(leaves)} leaves were given"
            )
        return _unflatten(self, iter(leaves))

    def flatten_up_to(self, tree: Any) -> list:
        """Flatten ``tree`` only as deep as this structure; its leaves map to whole subtrees.

        Example: ``tree_structure((1, 2)).flatten_up_to(([1, 2], 3)) == [[1, 2], 3]``.
        """
        return _flatten_up_to(self, tree, "flatten_up_to", "Prefix structure", "Tree")

    def children(self) -> list["PyTreeDef"]:
        """The child structures. Example: ``tree_structure((1, [2])).children()[1] == tree_structure([2])``."""
        return list(self._children)

    def node_data(self) -> tuple[type, Any] | None:
        """``(node_type, aux_data)`` of the root, or None for a leaf. Example: ``tree_structure([1]).node_data() == (list, None)``."""
        if self._kind == _LEAF:
            return None
        if self._kind == _DICT:
            return (dict, list(self._aux))
        return (self._type, self._aux)

    def compose(self, inner: "PyTreeDef") -> "PyTreeDef":
        """Put a copy of ``inner`` at every leaf of this structure.

        Example: ``tree_structure((1, 2)).compose(tree_structure([1]))`` -> ``PyTreeDef(([*], [*]))``.
        """
        if self._kind == _LEAF:
            return inner
        if not self._children:
            return self
        return _make(self._kind, self._type, self._entry, self._aux,
                     tuple(c.compose(inner) for c in self._children),
                     self._num_leaves * inner._num_leaves)

    def from_iterable_tree(self, xs: Any) -> Any:
        """Same as ``build_tree(self, xs)``."""
        return build_tree(self, xs)

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return (
            self._kind == other._kind
            and self._num_leaves == other._num_leaves
            and self._type is other._type
            and len(self._children) == len(other._children)
            and _aux_eq(self._aux, other._aux)
            and self._children == other._children
        )

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        h = self._hash
        if h is None:
            try:
                aux_hash = hash(self._aux)
            except TypeError as e:
                raise TypeError(
                    f"PyTreeDef: aux data of the {self._type.__qualname__} node is not "
                    f"hashable ({e}): {self._aux!r}. Aux data (static/meta fields) must be hashable."
                ) from None
            h = hash((self._kind, self._type, aux_hash, self._children))
            self._hash = h
        return h

    def __repr__(self):
        return f"PyTreeDef({_node_repr(self)})"

    def __reduce__(self):
        # Pickling would need the registry's functions; refuse clearly rather than half-work.
        raise TypeError("PyTreeDef cannot be pickled")


def _make(kind, t, entry, aux, children, num_leaves) -> PyTreeDef:
    n = _new(PyTreeDef)  # bypasses PyTreeDef.__new__, which refuses public construction
    n._kind = kind
    n._type = t
    n._entry = entry
    n._aux = aux
    n._children = children
    n._num_leaves = num_leaves
    n._num_nodes = None
    n._hash = None
    return n


_LEAF_DEF = _make(_LEAF, None, None, None, (), 1)
_LEAF_DEF._num_nodes = 1
_NONE_DEF = _make(_NONE, type(None), _registry[type(None)], None, (), 0)
_NONE_DEF._num_nodes = 1


def _plural(n: int) -> str:
    return f"{n} child" if n == 1 else f"{n} children"


def _node_repr(node: PyTreeDef) -> str:
    kind = node._kind
    if kind == _LEAF:
        return "*"
    if kind == _NONE:
        return "None"
    parts = [_node_repr(c) for c in node._children]
    if kind == _TUPLE:
        return "(" + parts[0] + ",)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"
    if kind == _LIST:
        return "[" + ", ".join(parts) + "]"
    if kind == _DICT:
        return "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(node._aux, parts)) + "}"
    if kind == _NAMEDTUPLE:
        return f"CustomNode(namedtuple[{node._type.__name__}], [{', '.join(parts)}])"
    return f"CustomNode({node._type.__name__}[{node._aux}], [{', '.join(parts)}])"


# ---------------------------------------------------------------------------
# Flatten / unflatten
# ---------------------------------------------------------------------------


def _flatten(x, leaves, is_leaf) -> PyTreeDef:
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF_DEF
    t = type(x)
    entry = _registry.get(t)
    if entry is None:
        if isinstance(x, tuple) and hasattr(t, "_fields"):
            start = len(leaves)
            children = tuple([_flatten(c, leaves, is_leaf) for c in x])
            return _make(_NAMEDTUPLE, t, _NAMEDTUPLE_ENTRY, None, children, len(leaves) - start)
        leaves.append(x)
        return _LEAF_DEF
    kind = entry.kind
    start = len(leaves)
    if kind == _TUPLE or kind == _LIST:
        if is_leaf is None:
            # Leaf children (arrays, scalars) inline: eager transforms flatten their
            # arguments and outputs on every call.
            kids = []
            for c in x:
                if type(c) in _registry or isinstance(c, tuple):
                    kids.append(_flatten(c, leaves, None))
                else:
                    leaves.append(c)
                    kids.append(_LEAF_DEF)
            children = tuple(kids)
        else:
            children = tuple([_flatten(c, leaves, is_leaf) for c in x])
        aux = None
    elif kind == _DICT:
        aux = _sorted_keys(x)
        children = tuple([_flatten(x[k], leaves, is_leaf) for k in aux])
    elif kind == _NONE:
        return _NONE_DEF
    else:
        kids, aux = entry.flatten(x)
        children = tuple([_flatten(c, leaves, is_leaf) for c in kids])
    return _make(kind, t, entry, aux, children, len(leaves) - start)


def _flatten_with_path(x, path, out, is_leaf) -> PyTreeDef:
    # Mirrors _flatten exactly (same child order), additionally tracking keys.
    if is_leaf is not None and is_leaf(x):
        out.append((path, x))
        return _LEAF_DEF
    t = type(x)
    entry = _registry.get(t)
    start = len(out)
    if entry is None:
        if isinstance(x, tuple) and hasattr(t, "_fields"):
            children = tuple([
                _flatten_with_path(c, path + (GetAttrKey(f),), out, is_leaf)
                for f, c in zip(t._fields, x)
            ])
            return _make(_NAMEDTUPLE, t, _NAMEDTUPLE_ENTRY, None, children, len(out) - start)
        out.append((path, x))
        return _LEAF_DEF
    kind = entry.kind
    if kind == _TUPLE or kind == _LIST:
        children = tuple([
            _flatten_with_path(c, path + (SequenceKey(i),), out, is_leaf) for i, c in enumerate(x)
        ])
        aux = None
    elif kind == _DICT:
        aux = _sorted_keys(x)
        children = tuple([_flatten_with_path(x[k], path + (DictKey(k),), out, is_leaf) for k in aux])
    elif kind == _NONE:
        return _NONE_DEF
    else:
        pairs, aux = entry.flatten_with_keys(x)
        children = tuple([_flatten_with_path(c, path + (k,), out, is_leaf) for k, c in pairs])
    return _make(kind, t, entry, aux, children, len(out) - start)


def _unflatten(node: PyTreeDef, it) -> Any:
    kind = node._kind
    if kind == _LEAF:
        return next(it)
    if kind == _NONE:
        return None
    children = [next(it) if c._kind == _LEAF else _unflatten(c, it) for c in node._children]
    if kind == _TUPLE:
        return tuple(children)
    if kind == _LIST:
        return children
    if kind == _DICT:
        return dict(zip(node._aux, children))
    if kind == _NAMEDTUPLE:
        return node._type(*children)
    return node._entry.unflatten(node._aux, tuple(children))


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, PyTreeDef]:
    """Flatten ``tree`` into ``(leaves, treedef)``.

    ``is_leaf(x) -> True`` stops the descent and makes ``x`` a leaf.
    Example: ``tree_flatten({'b': 2, 'a': (1, None)})`` -> ``([1, 2], PyTreeDef({'a': (*, None), 'b': *}))``.
    """
    leaves: list = []
    return leaves, _flatten(tree, leaves, is_leaf)


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree from a structure and leaves. Example: ``tree_unflatten(tree_structure([1, 2]), 'ab') == ['a', 'b']``."""
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(f"tree_unflatten: expected a PyTreeDef, got {type(treedef).__name__}")
    return treedef.unflatten(leaves)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list:
    """The leaves of ``tree`` in flatten order. Example: ``tree_leaves([1, {'a': 2}]) == [1, 2]``."""
    leaves: list = []
    _flatten(tree, leaves, is_leaf)
    return leaves


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The ``PyTreeDef`` of ``tree``. Example: ``tree_structure((1, [2]))`` -> ``PyTreeDef((*, [*]))``."""
    return _flatten(tree, [], is_leaf)


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether ``treedef`` is a single leaf. Example: ``treedef_is_leaf(tree_structure(1)) is True``.

    Unlike JAX, childless nodes (``None``, ``()``) are not leaves.
    """
    return treedef._kind == _LEAF


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """Same as ``treedef.children()``. Example: ``treedef_children(tree_structure((1, 2)))`` -> ``[PyTreeDef(*), PyTreeDef(*)]``."""
    return treedef.children()


def all_leaves(iterable: Iterable[Any], is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every element of ``iterable`` is a leaf. Example: ``all_leaves([1, 2.0]) is True``; ``all_leaves([1, (2,)]) is False``."""
    for x in iterable:
        if is_leaf is not None and is_leaf(x):
            continue
        t = type(x)
        if t in _registry or (isinstance(x, tuple) and hasattr(t, "_fields")):
            return False
    return True


def build_tree(treedef: PyTreeDef, xs: Any) -> Any:
    """Build a pytree from nested iterables: each node of ``treedef`` is given by an iterable of its children.

    Example: ``build_tree(tree_structure([1, (2, 3)]), [0, [1, 2]]) == [0, (1, 2)]``.
    """
    if treedef._kind == _LEAF:
        return xs
    if treedef._kind == _NONE:
        return None
    children = list(xs)
    if len(children) != len(treedef._children):
        raise ValueError(
            f"build_tree: a node of {treedef!r} has {_plural(len(treedef._children))} "
            f"but {len(children)} were given"
        )
    built = [build_tree(c, x) for c, x in zip(treedef._children, children)]
    return _make_from_children(treedef, built)


def _make_from_children(node: PyTreeDef, children: list) -> Any:
    kind = node._kind
    if kind == _TUPLE:
        return tuple(children)
    if kind == _LIST:
        return list(children)
    if kind == _DICT:
        return dict(zip(node._aux, children))
    if kind == _NAMEDTUPLE:
        return node._type(*children)
    return node._entry.unflatten(node._aux, tuple(children))


# ---------------------------------------------------------------------------
# Flatten up to a prefix, with mismatch paths
# ---------------------------------------------------------------------------


class _Mismatch(Exception):
    """Internal: carries the first mismatch upward; each frame prepends its key."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what
        self.rpath: list = []


def _one_level(x):
    """(kind, type, entry, aux, children) of ``x`` as a node, or of a leaf."""
    t = type(x)
    entry = _registry.get(t)
    if entry is None:
        if isinstance(x, tuple) and hasattr(t, "_fields"):
            return _NAMEDTUPLE, t, _NAMEDTUPLE_ENTRY, None, list(x)
        return _LEAF, t, None, None, []
    kind = entry.kind
    if kind == _TUPLE or kind == _LIST:
        return kind, t, entry, None, list(x)
    if kind == _DICT:
        keys = _sorted_keys(x)
        return kind, t, entry, keys, [x[k] for k in keys]
    if kind == _NONE:
        return kind, t, entry, None, []
    kids, aux = entry.flatten(x)
    return kind, t, entry, aux, list(kids)


def _describe(kind, t, aux, n) -> str:
    if kind == _LEAF:
        return f"a leaf of type {t.__name__}"
    if kind == _NONE:
        return "None"
    if kind == _TUPLE:
        return f"a tuple of {_plural(n)}"
    if kind == _LIST:
        return f"a list of {_plural(n)}"
    if kind == _DICT:
        return f"a dict with keys {list(aux)!r}"
    if kind == _NAMEDTUPLE:
        return f"a namedtuple {t.__name__} of {_plural(n)}"
    return f"a {t.__name__} node with aux data {aux!r} and {_plural(n)}"


def _up_to(node: PyTreeDef, x, out: list) -> None:
    kind = node._kind
    if kind == _LEAF:
        out.append(x)
        return
    xkind, xt, xentry, xaux, xchildren = _one_level(x)
    nchildren = node._children
    if (
        xkind != kind
        or xt is not node._type
        or len(xchildren) != len(nchildren)
        or (kind != _NAMEDTUPLE and not _aux_eq(xaux, node._aux))
    ):
        raise _Mismatch(
            f"{_describe(kind, node._type, node._aux, len(nchildren))} vs "
            f"{_describe(xkind, xt, xaux, len(xchildren))}"
        )
    for i, (sub, c) in enumerate(zip(nchildren, xchildren)):
        try:
            _up_to(sub, c, out)
        except _Mismatch as e:
            e.rpath.append(_child_key(node, x, i))
            raise


def _child_key(node: PyTreeDef, x, i: int):
    kind = node._kind
    if kind == _TUPLE or kind == _LIST:
        return SequenceKey(i)
    if kind == _DICT:
        return DictKey(node._aux[i])
    if kind == _NAMEDTUPLE:
        return GetAttrKey(node._type._fields[i])
    pairs, _ = node._entry.flatten_with_keys(x)
    return list(pairs)[i][0]


def _safe_structure_repr(tree) -> str:
    try:
        return repr(tree_structure(tree))
    except Exception:  # the structure is only context for an error already being raised
        r = repr(tree)
        return r if len(r) <= 200 else r[:197] + "..."


def _flatten_up_to(treedef: PyTreeDef, tree, fname: str, first_label: str, second_label: str,
                   which: str = "") -> list:
    out: list = []
    try:
        _up_to(treedef, tree, out)
    except _Mismatch as e:
        path = keystr(reversed(e.rpath))
        where = f"at key path {path}" if path else "at the root"
        raise ValueError(
            f"{fname}: {which or 'the trees'} differ {where}: {e.what}. "
            f"{first_label}: {treedef!r}. {second_label}: {_safe_structure_repr(tree)}"
        ) from None
    return out


# ---------------------------------------------------------------------------
# Mapping and reductions
# ---------------------------------------------------------------------------


def _rest_leaves(treedef: PyTreeDef, rest: tuple, fname: str) -> list[list]:
    many = len(rest) > 1
    return [
        _flatten_up_to(
            treedef, r, fname, "First structure", "Second",
            which=f"tree 1 and tree {i + 2}" if many else "",
        )
        for i, r in enumerate(rest)
    ]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any,
             is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Apply ``f`` leafwise; ``rest`` trees must have ``tree``'s structure or have it as a prefix.

    Each leaf of ``tree`` is paired with the whole matching subtree of every ``rest`` tree.
    Example: ``tree_map(lambda a, b: a + b, [1, (2,)], [10, (20,)]) == [11, (22,)]``.
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return _unflatten(treedef, iter([f(x) for x in leaves]))
    others = _rest_leaves(treedef, rest, "tree_map")
    return _unflatten(treedef, iter([f(*xs) for xs in zip(leaves, *others)]))


def tree_flatten_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                           ) -> tuple[list[tuple[tuple, Any]], PyTreeDef]:
    """Like ``tree_flatten`` but each leaf comes with its key path.

    Example: ``tree_flatten_with_path({'a': [5]})[0] == [((DictKey('a'), SequenceKey(0)), 5)]``.
    """
    out: list = []
    treedef = _flatten_with_path(tree, (), out, is_leaf)
    return out, treedef


def tree_leaves_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                          ) -> list[tuple[tuple, Any]]:
    """``(path, leaf)`` pairs in flatten order. Example: ``tree_leaves_with_path([7]) == [((SequenceKey(0),), 7)]``."""
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(f: Callable[..., Any], tree: Any, *rest: Any,
                       is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Like ``tree_map`` but ``f`` is called as ``f(path, leaf, *rest_leaves)``.

    Example: ``tree_map_with_path(lambda p, x: keystr(p), {'a': 1}) == {'a': "['a']"}``.
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    if not rest:
        return _unflatten(treedef, iter([f(p, x) for p, x in pairs]))
    others = _rest_leaves(treedef, rest, "tree_map_with_path")
    return _unflatten(treedef, iter([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)]))


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether all leaves are truthy. Example: ``tree_all([True, (1, 2)]) is True``."""
    return all(tree_leaves(tree, is_leaf))


_MISSING = object()


def tree_reduce(function: Callable[[Any, Any], Any], tree: Any, initializer: Any = _MISSING,
                is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``functools.reduce`` over the leaves. Example: ``tree_reduce(operator.add, [1, (2, 3)]) == 6``."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _MISSING:
        if not leaves:
            raise TypeError("tree_reduce: the tree has no leaves and no initializer was given")
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None,
                   pytree_to_transpose: Any) -> Any:
    """Turn an outer tree of inner trees into an inner tree of outer trees.

    ``inner_treedef=None`` infers it from the first inner tree.
    Example: ``tree_transpose(tree_structure([0, 0]), tree_structure((0, 0)), [(1, 2), (3, 4)]) == ([1, 3], [2, 4])``.
    """
    subtrees = _flatten_up_to(outer_treedef, pytree_to_transpose, "tree_transpose",
                              "Outer structure", "Tree", which="the outer structure and the tree")
    if inner_treedef is None:
        if not subtrees:
            raise ValueError("tree_transpose: cannot infer inner_treedef, the outer structure has no leaves")
        inner_treedef = tree_structure(subtrees[0])
    columns = [
        _flatten_up_to(inner_treedef, s, "tree_transpose", "Inner structure", "Inner tree",
                       which=f"the inner structure and inner tree {i}")
        for i, s in enumerate(subtrees)
    ]
    per_inner_leaf = [outer_treedef.unflatten(list(col)) for col in zip(*columns)] if columns else [
        outer_treedef.unflatten([]) for _ in range(inner_treedef.num_leaves)
    ]
    return inner_treedef.unflatten(per_inner_leaf)


# ---------------------------------------------------------------------------
# Partial
# ---------------------------------------------------------------------------


class _HashableCallableShim:
    """Wraps a partial so ``functools.partial.__new__`` does not merge it into ours.

    Merging would move the inner partial's (static) arguments into our
    children; keeping it boxed keeps exactly our own args as the pytree.
    """

    __slots__ = ("fun",)

    def __init__(self, fun):
        self.fun = fun

    def __call__(self, *args, **kwargs):
        return self.fun(*args, **kwargs)

    def __hash__(self):
        return hash(self.fun)

    def __eq__(self, other):
        if isinstance(other, _HashableCallableShim):
            return self.fun == other.fun
        return self.fun == other

    def __repr__(self):
        return repr(self.fun)


class Partial(functools.partial):
    """A ``functools.partial`` that is a pytree: ``func`` is static aux data, ``args``/``keywords`` are children.

    Example: ``tree_map(lambda x: 2 * x, Partial(pow, 3))(2) == 36``.
    """

    def __new__(cls, func, *args, **kwargs):
        if isinstance(func, functools.partial):
            func = _HashableCallableShim(func)
        return super().__new__(cls, func, *args, **kwargs)


register_pytree_with_keys(
    Partial,
    lambda p: (((GetAttrKey("args"), p.args), (GetAttrKey("keywords"), p.keywords)), p.func),
    lambda func, xs: Partial(func, *xs[0], **xs[1]),
    lambda p: ((p.args, p.keywords), p.func),
)
