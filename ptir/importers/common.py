"""What the importers share: the error that lists every node a model needs and PTIR
lacks, and the decorator that fills an importer's table of mappings.

Neither imports a model library: torch and onnx stay out of this module."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ..errors import PtirError

SHOWN_PLACES = 3   # places named per line of the report; the rest are counted


def unsupported_error(problems: list[tuple[str, str, str]], error: type[PtirError]) -> PtirError:
    """One `error` listing every (what, why, where) problem of a model: a line per distinct
    (what, why) with how many nodes have it and where they are (the first few places, then
    how many more), in the order they were found."""
    counts = Counter((what, why) for what, why, _ in problems)
    places: dict[tuple[str, str], list[str]] = {}
    for what, why, where in problems:
        seen = places.setdefault((what, why), [])
        if where not in seen:
            seen.append(where)
    lines = []
    for (what, why), n in counts.items():
        shown = places[(what, why)]
        more = f" and {len(shown) - SHOWN_PLACES} more" if len(shown) > SHOWN_PLACES else ""
        lines.append(f"  {what}: {why} (x{n}) at {'; '.join(shown[:SHOWN_PLACES])}{more}")
    return error(f"cannot import {len(problems)} node{'s' if len(problems) != 1 else ''} "
                 f"({len(counts)} distinct):\n" + "\n".join(lines))


def registrar(table: dict, entry: Callable) -> Callable:
    """`maps(*keys, **options)`: a decorator registering a function in `table` as
    `entry(function, **options)` under each key."""
    def maps(*keys, **options):
        def register(fn):
            for key in keys:
                table[key] = entry(fn, **options)
            return fn
        return register
    return maps
