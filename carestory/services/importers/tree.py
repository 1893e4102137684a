"""Materialised paths computed in memory.

``Service.path`` is the chain of primary keys from the root, "/1/7/42/", and ``depth`` the
number of ancestors. When a service moves, it and its whole subtree get new paths. The import
moves many services at once, so it recomputes paths for the whole tree from the parent links
in one pass and writes only the ones that differ (a single-service move in the web UI can use
the same function on a subtree).
"""

from __future__ import annotations

from collections.abc import Mapping


class TreeCycleError(ValueError):
    pass


def paths_compute(parents: Mapping[int, int | None]) -> dict[int, tuple[str, int]]:
    """{pk: parent pk or None} -> {pk: (path, depth)} for every pk.

    A parent that is not in the mapping is treated as missing (the service becomes a root);
    the import never produces one. Raises TreeCycleError if the links contain a loop.
    """
    result: dict[int, tuple[str, int]] = {}
    for start in parents:
        if start in result:
            continue
        chain: list[int] = []
        on_chain: set[int] = set()
        current: int | None = start
        while current is not None and current not in result:
            if current in on_chain:
                raise TreeCycleError(f"service {current} would be inside itself")
            chain.append(current)
            on_chain.add(current)
            parent = parents.get(current)
            current = parent if parent in parents else None
        if current is None:
            base_path, base_depth = "/", -1
        else:
            base_path, base_depth = result[current]
        for pk in reversed(chain):
            base_path = f"{base_path}{pk}/"
            base_depth += 1
            result[pk] = (base_path, base_depth)
    return result
