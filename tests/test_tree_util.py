"""Tests for ftx.tree_util (pytree flatten/unflatten, maps, paths, registration)."""

import collections
import copy
import dataclasses
import functools
import operator

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ftx import tree_util as tu
from ftx.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey

Point = collections.namedtuple("Point", ["x", "y"])


# ---------------------------------------------------------------------------
# Custom node types used across tests (registered once at import).
# ---------------------------------------------------------------------------


@tu.register_pytree_node_class
class Box:
    """Two children, a string aux."""

    def __init__(self, a, b, tag="aux"):
        self.a, self.b, self.tag = a, b, tag

    def tree_flatten(self):
        return (self.a, self.b), self.tag

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children, tag=aux)

    def __eq__(self, other):
        return type(other) is Box and (self.a, self.b, self.tag) == (other.a, other.b, other.tag)


@tu.register_dataclass
@dataclasses.dataclass
class Layer:
    w: object
    b: object
    name: str = dataclasses.field(default="dense", metadata=dict(static=True))


@dataclasses.dataclass
class Explicit:
    x: object
    y: object
    mode: object


tu.register_dataclass(Explicit, data_fields=["y", "x"], meta_fields=["mode"])


@tu.register_static
@dataclasses.dataclass(frozen=True)
class Config:
    depth: int


@tu.register_pytree_with_keys_class
class Keyed:
    def __init__(self, p, q):
        self.p, self.q = p, q

    def tree_flatten_with_keys(self):
        return ((GetAttrKey("p"), self.p), (GetAttrKey("q"), self.q)), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


# ---------------------------------------------------------------------------
# Built-in node kinds
# ---------------------------------------------------------------------------


def test_leaves_and_structure_of_builtin_nodes():
    tree = {"b": [1, (2, None)], "a": 3}
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [3, 1, 2]  # dict children in sorted key order
    assert repr(treedef) == "PyTreeDef({'a': *, 'b': [*, (*, None)]})"
    assert treedef.num_leaves == 3
    assert treedef.num_nodes == 7  # dict, 3 leaves, list, tuple, None
    assert tu.tree_unflatten(treedef, leaves) == tree


def test_scalar_and_array_are_leaves():
    arr = np.arange(3)
    leaves, treedef = tu.tree_flatten(arr)
    assert leaves[0] is arr and tu.treedef_is_leaf(treedef)
    assert repr(treedef) == "PyTreeDef(*)"
    assert tu.tree_leaves(5) == [5]


def test_none_is_an_empty_node_not_a_leaf():
    assert tu.tree_leaves(None) == []
    assert tu.tree_leaves([None, 1, None]) == [1]
    treedef = tu.tree_structure(None)
    assert treedef.num_leaves == 0 and treedef.num_nodes == 1
    assert not tu.treedef_is_leaf(treedef)
    assert tu.tree_unflatten(treedef, []) is None
    # ...unless is_leaf says otherwise
    assert tu.tree_leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]


def test_empty_containers_and_singleton_tuple():
    for t in [(), [], {}]:
        assert tu.tree_leaves(t) == []
        assert tu.tree_unflatten(tu.tree_structure(t), []) == t
    assert repr(tu.tree_structure((1,))) == "PyTreeDef((*,))"
    assert repr(tu.tree_structure(((), [], {}))) == "PyTreeDef(((), [], {}))"


def test_subclass_of_builtin_container_is_a_leaf():
    class MyList(list):
        pass

    x = MyList([1, 2])
    assert tu.tree_leaves([x]) == [x]


def test_namedtuple_is_a_node():
    p = Point(x=1, y=(2, 3))
    leaves, treedef = tu.tree_flatten(p)
    assert leaves == [1, 2, 3]
    assert repr(treedef) == "PyTreeDef(CustomNode(namedtuple[Point], [*, (*, *)]))"
    back = tu.tree_unflatten(treedef, [10, 20, 30])
    assert type(back) is Point and back == Point(10, (20, 30))
    assert treedef != tu.tree_structure((1, (2, 3)))  # type is part of structure


def test_ordereddict_keeps_insertion_order_dict_sorts():
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    d = {"b": 1, "a": 2}
    assert tu.tree_leaves(od) == [1, 2]
    assert tu.tree_leaves(d) == [2, 1]
    back = tu.tree_unflatten(tu.tree_structure(od), [5, 6])
    assert type(back) is collections.OrderedDict and list(back.items()) == [("b", 5), ("a", 6)]
    assert tu.tree_structure(od) != tu.tree_structure(collections.OrderedDict([("a", 1), ("b", 2)]))
    assert tu.tree_structure(od) != tu.tree_structure(d)


def test_defaultdict_sorted_and_keeps_factory():
    dd = collections.defaultdict(list, {"z": 1, "a": 2})
    leaves, treedef = tu.tree_flatten(dd)
    assert leaves == [2, 1]
    back = tu.tree_unflatten(treedef, [20, 10])
    assert type(back) is collections.defaultdict and back.default_factory is list
    assert dict(back) == {"a": 20, "z": 10}
    assert treedef != tu.tree_structure(collections.defaultdict(set, {"z": 1, "a": 2}))
    paths = [p for p, _ in tu.tree_leaves_with_path(dd)]
    assert paths == [(DictKey("a"),), (DictKey("z"),)]


def test_unsortable_dict_keys_raise_clear_type_error():
    with pytest.raises(TypeError, match="sortable"):
        tu.tree_flatten({1: "a", "b": 2})


def test_non_string_sortable_keys():
    assert tu.tree_leaves({3: "c", 1: "a", 2: "b"}) == ["a", "b", "c"]


# ---------------------------------------------------------------------------
# Hypothesis: random nested trees vs. oracles written here
# ---------------------------------------------------------------------------

trees = st.recursive(
    st.one_of(st.integers(-1000, 1000), st.none()),
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.lists(kids, max_size=4).map(tuple),
        st.dictionaries(st.text("abcxyz", max_size=3), kids, max_size=4),
    ),
    max_leaves=25,
)


def count_ints(t):
    if isinstance(t, dict):
        return sum(count_ints(v) for v in t.values())
    if isinstance(t, (list, tuple)):
        return sum(count_ints(v) for v in t)
    return 0 if t is None else 1


def ints_in_order(t):
    if isinstance(t, dict):
        return [x for k in sorted(t) for x in ints_in_order(t[k])]
    if isinstance(t, (list, tuple)):
        return [x for v in t for x in ints_in_order(v)]
    return [] if t is None else [t]


def same_types(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return sorted(a) == sorted(b) and all(same_types(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_types(x, y) for x, y in zip(a, b))
    return True


@settings(max_examples=50, deadline=None)
@given(trees)
def test_round_trip_and_leaf_order(t):
    leaves, treedef = tu.tree_flatten(t)
    assert leaves == ints_in_order(t)
    assert treedef.num_leaves == count_ints(t) == len(tu.tree_leaves(t))
    back = tu.tree_unflatten(tu.tree_structure(t), tu.tree_leaves(t))
    assert back == t and same_types(back, t)
    assert tu.tree_structure(back) == treedef and hash(tu.tree_structure(back)) == hash(treedef)


@settings(max_examples=50, deadline=None)
@given(trees)
def test_tree_map_identity_and_paths_consistent(t):
    mapped = tu.tree_map(lambda x: x, t)
    assert mapped == t and same_types(mapped, t)
    assert tu.tree_map(lambda x, y: x - y, t, t) == tu.tree_map(lambda x: 0, t)
    pairs, treedef = tu.tree_flatten_with_path(t)
    assert [x for _, x in pairs] == tu.tree_leaves(t)
    assert treedef == tu.tree_structure(t)
    # Each path actually leads to its leaf.
    for path, leaf in pairs:
        node = t
        for k in path:
            node = node[k.key] if isinstance(k, DictKey) else node[k.idx]
        assert node == leaf
    # tree_map_with_path visits leaves in the same order.
    seen = []
    tu.tree_map_with_path(lambda p, x: seen.append((p, x)), t)
    assert seen == pairs


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------


def test_register_pytree_node_class_and_repr():
    tree = (1, Box(2, [3]))
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [1, 2, 3]
    assert repr(treedef) == "PyTreeDef((*, CustomNode(Box[aux], [*, [*]])))"
    assert tu.tree_unflatten(treedef, leaves) == tree
    assert tu.tree_structure(Box(1, 2, "aux")) != tu.tree_structure(Box(1, 2, "other"))
    paths = [tu.keystr(p) for p, _ in tu.tree_leaves_with_path(tree)]
    assert paths == ["[0]", "[1][<flat index 0>]", "[1][<flat index 1>][0]"]


def test_register_pytree_node_functions_and_duplicate():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    tu.register_pytree_node(Pair, lambda p: ([p.a, p.b], None), lambda _, c: Pair(*c))
    out = tu.tree_map(lambda x: x * 10, Pair(1, 2))
    assert (out.a, out.b) == (10, 20)
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(Pair, lambda p: ([], None), lambda _, c: Pair(0, 0))
    with pytest.raises(ValueError):
        tu.register_pytree_node(list, lambda p: ([], None), lambda _, c: [])


def test_register_pytree_with_keys_class():
    k = Keyed(1, [2])
    assert tu.tree_leaves(k) == [1, 2]
    assert [tu.keystr(p) for p, _ in tu.tree_leaves_with_path(k)] == [".p", ".q[0]"]
    back = tu.tree_map(lambda x: -x, k)
    assert (back.p, back.q) == (-1, [-2])


def test_register_pytree_with_keys_function():
    class Two:
        def __init__(self, u, v):
            self.u, self.v = u, v

    tu.register_pytree_with_keys(
        Two,
        lambda t: ([(DictKey("u"), t.u), (DictKey("v"), t.v)], "meta"),
        lambda aux, c: Two(*c),
    )
    leaves, treedef = tu.tree_flatten(Two(1, 2))  # derived plain flatten
    assert leaves == [1, 2] and treedef.node_data() == (Two, "meta")
    assert [p for p, _ in tu.tree_leaves_with_path(Two(1, 2))] == [(DictKey("u"),), (DictKey("v"),)]


def test_register_dataclass_decorator_with_static_field():
    layer = Layer(w=np.ones(2), b=3.0, name="proj")
    leaves, treedef = tu.tree_flatten(layer)
    assert len(leaves) == 2 and leaves[1] == 3.0 and leaves[0] is layer.w
    assert treedef.node_data() == (Layer, ("proj",))
    back = tu.tree_unflatten(treedef, [1, 2])
    assert back == Layer(1, 2, "proj")
    assert tu.tree_structure(Layer(1, 2, "a")) != tu.tree_structure(Layer(1, 2, "b"))
    assert [tu.keystr(p) for p, _ in tu.tree_leaves_with_path(layer)] == [".w", ".b"]
    assert tu.tree_map(lambda x: x + 1, Layer(1, 2, "q")) == Layer(2, 3, "q")


def test_register_dataclass_explicit_lists_follow_given_order():
    e = Explicit(x=1, y=2, mode="train")
    assert tu.tree_leaves(e) == [2, 1]  # data_fields order, not declaration order
    assert tu.tree_unflatten(tu.tree_structure(e), [20, 10]) == Explicit(10, 20, "train")


def test_register_dataclass_validation_and_unhashable_meta():
    @dataclasses.dataclass
    class Bad:
        a: object
        b: object

    with pytest.raises(ValueError, match="missing"):
        tu.register_dataclass(Bad, data_fields=["a"], meta_fields=[])
    with pytest.raises(TypeError):
        tu.register_dataclass(Bad, data_fields=["a"])

    with pytest.raises(TypeError, match=r"meta \(static\) field 'name'.*hashable"):
        tu.tree_flatten(Layer(1, 2, name=["not", "hashable"]))


def test_register_dataclass_drop_fields():
    @dataclasses.dataclass
    class WithCache:
        x: object
        cache: object = None

    tu.register_dataclass(WithCache, data_fields=["x"], meta_fields=[], drop_fields=["cache"])
    assert tu.tree_leaves(WithCache(1, cache="big")) == [1]
    assert tu.tree_map(lambda v: v, WithCache(1, cache="big")) == WithCache(1, None)


def test_register_static():
    tree = {"cfg": Config(3), "x": 1}
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [1]
    assert tu.tree_unflatten(treedef, [2]) == {"cfg": Config(3), "x": 2}
    assert tu.tree_structure({"cfg": Config(4), "x": 1}) != treedef
    assert tu.tree_structure({"cfg": Config(3), "x": 5}) == treedef


def test_unhashable_custom_aux_hash_error_is_clear():
    treedef = tu.tree_structure(Box(1, 2, tag=["list", "aux"]))
    with pytest.raises(TypeError, match="not hashable"):
        hash(treedef)


# ---------------------------------------------------------------------------
# is_leaf
# ---------------------------------------------------------------------------


def test_is_leaf_stops_descent():
    tree = {"a": (1, 2), "b": [3, (4, 5)]}
    leaves, treedef = tu.tree_flatten(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [(1, 2), 3, (4, 5)]
    assert repr(treedef) == "PyTreeDef({'a': *, 'b': [*, *]})"
    out = tu.tree_map(lambda t: len(t) if isinstance(t, tuple) else t, tree,
                      is_leaf=lambda x: isinstance(x, tuple))
    assert out == {"a": 2, "b": [3, 2]}
    # is_leaf is consulted at the root too
    assert tu.tree_leaves(tree, is_leaf=lambda x: isinstance(x, dict)) == [tree]


def test_is_leaf_with_path_matches_plain():
    tree = [None, (1, None)]
    f = lambda x: x is None  # noqa: E731
    pairs, td = tu.tree_flatten_with_path(tree, is_leaf=f)
    assert [x for _, x in pairs] == tu.tree_leaves(tree, is_leaf=f) == [None, 1, None]
    assert [tu.keystr(p) for p, _ in pairs] == ["[0]", "[1][0]", "[1][1]"]
    assert td == tu.tree_structure(tree, is_leaf=f)


# ---------------------------------------------------------------------------
# tree_map over several trees, prefixes, errors
# ---------------------------------------------------------------------------


def test_tree_map_several_trees():
    a = {"x": [1, 2], "y": Point(3, 4)}
    b = {"x": [10, 20], "y": Point(30, 40)}
    c = {"x": [100, 200], "y": Point(300, 400)}
    out = tu.tree_map(lambda p, q, r: p + q + r, a, b, c)
    assert out == {"x": [111, 222], "y": Point(333, 444)} and type(out["y"]) is Point


def test_tree_map_prefix_tree():
    # Leaves of the first tree map to whole subtrees of the second.
    out = tu.tree_map(lambda s, t: (s, t), {"a": 1, "b": 2}, {"a": [5, 6], "b": {"c": None}})
    assert out == {"a": (1, [5, 6]), "b": (2, {"c": None})}
    assert tu.tree_structure((1, 2)).flatten_up_to(([1, 2], (3,))) == [[1, 2], (3,)]


def test_tree_map_structure_mismatch_message():
    first = {"a": 1, "b": [1, 2]}
    second = {"a": 1, "b": [1, (2, 3, 4)]}
    # the second is fine as an extension of the first ...
    tu.tree_map(lambda x, y: x, first, second)
    # ... but not the other way round
    bad = {"a": 1, "b": (1, 2, 3)}
    with pytest.raises(ValueError) as info:
        tu.tree_map(lambda x, y: x, first, bad)
    msg = str(info.value)
    assert "['b']" in msg
    assert "a list of 2 children vs a tuple of 3 children" in msg
    assert repr(tu.tree_structure(first)) in msg
    assert repr(tu.tree_structure(bad)) in msg


def test_tree_map_mismatch_deep_path_and_custom_nodes():
    first = [Box(1, {"k": (1, 2)})]
    second = [Box(1, {"k": [1, 2]})]
    with pytest.raises(ValueError) as info:
        tu.tree_map(lambda x, y: x, first, second)
    msg = str(info.value)
    assert "[0][<flat index 1>]['k']" in msg
    assert "a tuple of 2 children vs a list of 2 children" in msg
    # a leaf where a node is expected
    with pytest.raises(ValueError, match=r"at key path \[1\]: None vs a leaf of type int"):
        tu.tree_map(lambda x, y: x, [1, None], [1, 2])
    # dataclass meta mismatch
    with pytest.raises(ValueError, match="aux data"):
        tu.tree_map(lambda x, y: x, Layer(1, 2, "a"), Layer(1, 2, "b"))
    # dict key mismatch at the root, with the third tree named
    with pytest.raises(ValueError, match=r"tree 1 and tree 3 differ at the root: a dict with keys \['a'\] vs"):
        tu.tree_map(lambda x, y, z: x, {"a": 1}, {"a": 2}, {"b": 3})


def test_tree_map_with_path_several_trees():
    out = tu.tree_map_with_path(lambda p, x, y: (tu.keystr(p), x + y), {"a": [1]}, {"a": [2]})
    assert out == {"a": [("['a'][0]", 3)]}
    with pytest.raises(ValueError, match="tree_map_with_path"):
        tu.tree_map_with_path(lambda p, x, y: x, [1], (1,))


def test_flatten_up_to_error_shows_both_structures():
    treedef = tu.tree_structure({"a": (1, 2)})
    with pytest.raises(ValueError) as info:
        treedef.flatten_up_to({"a": (1,)})
    msg = str(info.value)
    assert "['a']" in msg and repr(treedef) in msg and "PyTreeDef({'a': (*,)})" in msg


def test_wrong_leaf_count():
    treedef = tu.tree_structure([1, (2, 3)])
    with pytest.raises(ValueError, match="3 leaves.*2 leaves were given"):
        tu.tree_unflatten(treedef, [1, 2])
    with pytest.raises(ValueError, match="4"):
        treedef.unflatten(range(4))
    with pytest.raises(TypeError):
        tu.tree_unflatten([1, 2], treedef)


# ---------------------------------------------------------------------------
# Paths and keystr
# ---------------------------------------------------------------------------


def test_paths_for_every_node_kind():
    tree = {"d": [Point(1, 2)], "o": collections.OrderedDict(z=3), "t": (Layer(4, 5),)}
    got = [(tu.keystr(p), x) for p, x in tu.tree_leaves_with_path(tree)]
    assert got == [
        ("['d'][0].x", 1),
        ("['d'][0].y", 2),
        ("['o']['z']", 3),
        ("['t'][0].w", 4),
        ("['t'][0].b", 5),
    ]


def test_keystr_modes():
    path = (DictKey("a"), SequenceKey(0), GetAttrKey("w"), FlattenedIndexKey(2))
    assert tu.keystr(path[:2]) == "['a'][0]"
    assert tu.keystr(path) == "['a'][0].w[<flat index 2>]"
    assert tu.keystr(path, simple=True, separator="/") == "a/0/w/2"
    assert tu.keystr(path[:2], simple=True) == "a0"
    assert tu.keystr(()) == ""
    assert str(DictKey(1)) == "[1]" and str(GetAttrKey("x")) == ".x"


def test_key_entries_are_frozen_hashable_values():
    assert DictKey("a") == DictKey("a") and hash(SequenceKey(1)) == hash(SequenceKey(1))
    assert DictKey("a") != GetAttrKey("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        DictKey("a").key = "b"


# ---------------------------------------------------------------------------
# Reductions, transpose, build_tree, all_leaves
# ---------------------------------------------------------------------------


def test_tree_all_and_reduce():
    assert tu.tree_all([True, (1, {"a": "x"})])
    assert not tu.tree_all([True, (0,)])
    assert tu.tree_all([])
    assert tu.tree_reduce(operator.add, [1, (2, {"a": 3})]) == 6
    assert tu.tree_reduce(operator.add, [], 7) == 7
    assert tu.tree_reduce(lambda a, b: a + [b], (1, 2), []) == [1, 2]
    with pytest.raises(TypeError):
        tu.tree_reduce(operator.add, [])


def test_tree_transpose():
    outer = tu.tree_structure([0, 0, 0])
    inner = tu.tree_structure({"a": 0, "b": 0})
    tree = [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]
    assert tu.tree_transpose(outer, inner, tree) == {"a": [1, 3, 5], "b": [2, 4, 6]}
    assert tu.tree_transpose(outer, None, tree) == {"a": [1, 3, 5], "b": [2, 4, 6]}
    with pytest.raises(ValueError):
        tu.tree_transpose(outer, inner, [{"a": 1, "b": 2}, {"a": 3}, {"a": 5, "b": 6}])


def test_build_tree_and_all_leaves():
    treedef = tu.tree_structure([1, (2, 3), {"k": 4}])
    assert tu.build_tree(treedef, ["a", ["b", "c"], ["d"]]) == ["a", ("b", "c"), {"k": "d"}]
    with pytest.raises(ValueError):
        tu.build_tree(treedef, ["a", ["b"], ["d"]])
    assert tu.all_leaves([1, "x", np.zeros(2)])
    assert not tu.all_leaves([1, (2,)])
    assert not tu.all_leaves([None])
    assert tu.all_leaves([None], is_leaf=lambda x: x is None)


# ---------------------------------------------------------------------------
# Partial
# ---------------------------------------------------------------------------


def add3(a, b, c=0):
    return a + b + c


def test_partial_calls_and_flattens():
    p = tu.Partial(add3, 1, c=10)
    assert isinstance(p, functools.partial) and p(2) == 13
    leaves, treedef = tu.tree_flatten(p)
    assert leaves == [1, 10]
    back = tu.tree_unflatten(treedef, [2, 20])
    assert isinstance(back, tu.Partial) and back.func is add3 and back(3) == 25
    doubled = tu.tree_map(lambda x: 2 * x, p)
    assert doubled(0) == 22
    assert tu.tree_structure(tu.Partial(add3, 5, c=6)) == treedef
    assert tu.tree_structure(tu.Partial(max, 5, c=6)) != treedef
    assert [tu.keystr(k) for k, _ in tu.tree_leaves_with_path(p)] == [".args[0]", ".keywords['c']"]


def test_partial_of_partial():
    inner = tu.Partial(add3, 1)
    outer = tu.Partial(inner, 2)
    assert outer(3) == 6
    # only the outer arguments are children; the inner Partial is static
    assert tu.tree_leaves(outer) == [2]
    mapped = tu.tree_map(lambda x: x * 100, outer)
    assert mapped(3) == 1 + 200 + 3
    assert tu.tree_structure(outer) == tu.tree_structure(tu.Partial(inner, 9))
    hash(tu.tree_structure(outer))


def test_partial_inside_container_through_tree_map():
    tree = {"f": tu.Partial(add3, 1, 2), "x": 3}
    out = tu.tree_map(lambda v: v + 1, tree)
    assert out["x"] == 4 and out["f"]() == 5


# ---------------------------------------------------------------------------
# PyTreeDef
# ---------------------------------------------------------------------------


def test_treedef_equality_hash_and_immutability():
    a = tu.tree_structure({"a": 1, "b": [2, None]})
    b = tu.tree_structure({"b": ["x", None], "a": "y"})
    c = tu.tree_structure({"a": 1, "b": (2, None)})
    assert a == b and hash(a) == hash(b) and not (a != b)
    assert a != c and a != tu.tree_structure({"a": 1, "c": [2, None]})
    assert tu.tree_structure([1, 2]) != tu.tree_structure([1, 2, 3])
    assert tu.tree_structure([1]) != tu.tree_structure([[1]])
    assert tu.tree_structure((None,)) != tu.tree_structure((1,))
    assert len({a, b, c}) == 2
    assert a != "PyTreeDef"
    with pytest.raises(AttributeError):
        a.num_leaves = 3
    with pytest.raises(AttributeError):
        a.extra = 1
    with pytest.raises(TypeError):
        tu.PyTreeDef()
    assert copy.deepcopy(a) is a


def test_treedef_children_node_data_compose():
    treedef = tu.tree_structure({"a": 1, "b": [2, None]})
    kids = treedef.children()
    assert kids == [tu.tree_structure(0), tu.tree_structure([0, None])]
    assert tu.treedef_children(treedef) == kids
    assert treedef.node_data() == (dict, ["a", "b"])
    assert tu.tree_structure([1]).node_data() == (list, None)
    assert tu.tree_structure(1).node_data() is None
    composed = tu.tree_structure((1, 2)).compose(tu.tree_structure([1, None]))
    assert composed == tu.tree_structure(([1, None], [1, None]))
    assert composed.num_leaves == 2


def test_treedef_is_leaf():
    assert tu.treedef_is_leaf(tu.tree_structure(1))
    assert not tu.treedef_is_leaf(tu.tree_structure([1]))
    assert not tu.treedef_is_leaf(tu.tree_structure(()))


def test_reprs():
    assert repr(tu.tree_structure([1, {"x": (2,)}])) == "PyTreeDef([*, {'x': (*,)}])"
    assert repr(tu.tree_structure(collections.OrderedDict(b=1, a=2))) == (
        "PyTreeDef(CustomNode(OrderedDict[('b', 'a')], [*, *]))"
    )
    assert repr(tu.tree_structure(Layer(1, 2))) == "PyTreeDef(CustomNode(Layer[('dense',)], [*, *]))"


def test_public_names_are_reexports():
    import ftx.core.pytree as impl

    for name in tu.__all__:
        assert getattr(tu, name) is getattr(impl, name)
