"""Where a project sits in its workspace's list: integer positions with gaps.

A project's `position` is an integer; a workspace's projects are listed by it (then name,
then id). A new project goes one GAP after the last. Moving a project after another takes
the midpoint of the gap between that one and the next: one row written, whatever the
number of projects. Only when a gap is used up — after about 16 moves into the same
spot, since each halves it — is the workspace's list renumbered, GAP apart: one UPDATE
(and one `project.updated`) per project, rare enough to be cheap.

Safe under concurrent reorders: every change of order in a workspace (a move, a create)
first takes the workspace's ordering lock (PostgreSQL: a transaction-scoped advisory lock
keyed by the workspace; SQLite runs one write transaction at a time), then reads the
neighbours and writes. Two people dragging at once take turns: the second move is
computed from what the first left, never from a stale read, so no two live projects of a
workspace share a position and the order stays total. The lock is taken before any project
row is locked, so it cannot deadlock with the row locks a renumbering takes.

Why integers and not fractional strings (LexoRank and kin): both write one row per move and
renumber rarely, but integers sort the same in every database and collation (a string rank
would need `COLLATE "C"` on PostgreSQL to sort as it does on SQLite), and the API shows a
plain number.
"""

from __future__ import annotations

from typing import Final

GAP: Final = 65_536
"""The distance between neighbours after a renumbering, and after the last for a new one."""


def position_between(before: int | None, after: int | None) -> int | None:
    """A position strictly between two neighbours' (None: no neighbour on that side), or
    None when no integer is left between them (then the list is renumbered)."""
    if before is None and after is None:
        return GAP
    if before is None:
        assert after is not None
        return after - GAP
    if after is None:
        return before + GAP
    if after - before < 2:
        return None
    return (before + after) // 2


def renumbered(count: int) -> list[int]:
    """Positions for `count` projects in a row, GAP apart."""
    return [GAP * (index + 1) for index in range(count)]
