"""Public pytree utilities of ftx, mirroring ``jax.tree_util``.

Pytrees are nested tuples, lists, dicts, None, namedtuples, OrderedDicts,
defaultdicts and registered classes; everything else is a leaf. Flatten a tree
into its leaves and a ``PyTreeDef``, map functions over leaves of one or several
trees, and register your own node types::

    from ftx import tree_util as tu
    tu.tree_map(lambda x: x * 2, {'a': 1, 'b': (2, 3)})   # {'a': 2, 'b': (4, 6)}

The implementation lives in ``ftx.core.pytree``; this module only re-exports it.
"""

from ftx.core.pytree import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    Partial,
    PyTreeDef,
    SequenceKey,
    all_leaves,
    build_tree,
    keystr,
    register_dataclass,
    register_pytree_node,
    register_pytree_node_class,
    register_pytree_with_keys,
    register_pytree_with_keys_class,
    register_static,
    tree_all,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_map_with_path,
    tree_reduce,
    tree_structure,
    tree_transpose,
    tree_unflatten,
    treedef_children,
    treedef_is_leaf,
)

__all__ = [
    "DictKey",
    "FlattenedIndexKey",
    "GetAttrKey",
    "Partial",
    "PyTreeDef",
    "SequenceKey",
    "all_leaves",
    "build_tree",
    "keystr",
    "register_dataclass",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_pytree_with_keys",
    "register_pytree_with_keys_class",
    "register_static",
    "tree_all",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_with_path",
    "tree_reduce",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
    "treedef_children",
    "treedef_is_leaf",
]
