"""Maximum flow and minimum cut (Dinic's algorithm), for the rematerialization partitioner.

Integer capacities; ``INFINITE`` marks edges that may never be cut. scipy would
do, but it is not a dependency of ftx, and the graphs here are small (two nodes
per value of a jaxpr): plain Python is fast enough.
"""
from __future__ import annotations

from collections import deque

INFINITE = float("inf")


class FlowNetwork:
    """A directed graph with capacities: ``add_edge(u, v, cap)``, then ``min_cut(s, t)``.

    >>> g = FlowNetwork(4)
    >>> g.add_edge(0, 1, 3); g.add_edge(1, 3, 2); g.add_edge(0, 2, 1); g.add_edge(2, 3, 5)
    >>> g.min_cut(0, 3)      # (3, {0, 1}): cut 1->3 (2) and 0->2 (1)
    """

    def __init__(self, num_nodes: int = 0):
        self.adj: list[list[int]] = [[] for _ in range(num_nodes)]
        self.head: list[int] = []  # edge e goes to head[e]; e ^ 1 is its reverse edge
        self.cap: list = []

    def add_node(self) -> int:
        self.adj.append([])
        return len(self.adj) - 1

    def add_edge(self, u: int, v: int, capacity) -> None:
        if capacity < 0:
            raise ValueError(f"FlowNetwork: negative capacity {capacity} on edge {u}->{v}")
        self.adj[u].append(len(self.head))
        self.head.append(v)
        self.cap.append(capacity)
        self.adj[v].append(len(self.head))
        self.head.append(u)
        self.cap.append(0)

    def infinite_path(self, s: int, t: int):
        """A path of infinite edges from ``s`` to ``t`` (a list of nodes), or None: if there is
        one, no finite cut separates them."""
        parent = {s: None}
        queue = deque([s])
        while queue:
            u = queue.popleft()
            for e in self.adj[u]:
                v = self.head[e]
                if self.cap[e] == INFINITE and v not in parent:
                    parent[v] = u
                    if v == t:
                        path = [t]
                        while parent[path[-1]] is not None:
                            path.append(parent[path[-1]])
                        return path[::-1]
                    queue.append(v)
        return None

    def max_flow(self, s: int, t: int):
        """The value of a maximum flow from ``s`` to ``t`` (capacities are used up)."""
        if self.infinite_path(s, t) is not None:
            return INFINITE
        flow = 0
        while True:
            level = self._levels(s)
            if level[t] < 0:
                return flow
            next_edge = [0] * len(self.adj)
            while True:
                pushed = self._augment(s, t, level, next_edge)
                if not pushed:
                    break
                flow += pushed

    def min_cut(self, s: int, t: int):
        """``(value, source_side)``: a minimum cut and the nodes on the source's side of it."""
        value = self.max_flow(s, t)
        if value == INFINITE:
            raise ValueError("FlowNetwork.min_cut: the source reaches the sink through edges of "
                             "infinite capacity; no finite cut exists")
        seen = {s}
        queue = deque([s])
        while queue:
            u = queue.popleft()
            for e in self.adj[u]:
                v = self.head[e]
                if self.cap[e] > 0 and v not in seen:
                    seen.add(v)
                    queue.append(v)
        return value, seen

    def _levels(self, s):
        level = [-1] * len(self.adj)
        level[s] = 0
        queue = deque([s])
        while queue:
            u = queue.popleft()
            for e in self.adj[u]:
                v = self.head[e]
                if self.cap[e] > 0 and level[v] < 0:
                    level[v] = level[u] + 1
                    queue.append(v)
        return level

    def _augment(self, s, t, level, next_edge):
        """Push flow along one shortest path of the level graph; 0 if there is none left.
        Iterative (no recursion limit on long chains); dead ends are skipped for good."""
        adj, head, cap = self.adj, self.head, self.cap
        path: list[int] = []
        u = s
        while True:
            if u == t:
                pushed = min(cap[e] for e in path)
                for e in path:
                    cap[e] -= pushed
                    cap[e ^ 1] += pushed
                return pushed
            edges = adj[u]
            while next_edge[u] < len(edges):
                e = edges[next_edge[u]]
                if cap[e] > 0 and level[head[e]] == level[u] + 1:
                    break
                next_edge[u] += 1
            else:  # dead end: retreat and never come back here in this phase
                level[u] = -1
                if not path:
                    return 0
                e = path.pop()
                u = head[e ^ 1]
                next_edge[u] += 1
                continue
            path.append(e)
            u = head[e]


def brute_force_min_cut(num_nodes: int, edges, s: int, t: int):
    """The minimum over every node subset containing ``s`` and not ``t`` of the capacity
    leaving it (exponential: for testing ``FlowNetwork`` on small graphs)."""
    best = INFINITE
    others = [v for v in range(num_nodes) if v not in (s, t)]
    for mask in range(1 << len(others)):
        side = {s} | {v for i, v in enumerate(others) if mask >> i & 1}
        best = min(best, sum(c for u, v, c in edges if u in side and v not in side))
    return best
