"""Project positions: a move finds a place strictly between its neighbours, or says none is left."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from haven.projects.ordering import GAP, position_between, renumbered

positions = st.integers(min_value=-(2**62), max_value=2**62)


@given(positions, positions)
def test_a_place_is_strictly_between_or_none_is_left(a: int, b: int) -> None:
    before, after = min(a, b), max(a, b)
    found = position_between(before, after)
    if after - before < 2:
        assert found is None
    else:
        assert found is not None
        assert before < found < after


@given(positions)
def test_the_ends_are_a_gap_away(position: int) -> None:
    assert position_between(position, None) == position + GAP
    assert position_between(None, position) == position - GAP
    assert position_between(None, None) == GAP


@given(st.lists(st.integers(min_value=0, max_value=30), max_size=60))
def test_moves_keep_distinct_positions_in_list_order(moves: list[int]) -> None:
    """Moving items after others (as the service does, renumbering when a gap is used up)
    never gives two items one position, and the positions follow the list's order."""
    items = dict(zip(range(8), renumbered(8), strict=True))
    for step in moves:
        mover, after = step % 8, (step * 7 + 3) % 9  # 8: to the top
        order = sorted((p, i) for i, p in items.items() if i != mover)
        if after == mover:
            continue
        before_pos = items[after] if after < 8 else None
        following = [p for p, _ in order if before_pos is None or p > before_pos]
        place = position_between(before_pos, following[0] if following else None)
        if place is None:
            ids = [i for _, i in order]
            ids.insert(ids.index(after) + 1, mover)
            items = dict(zip(ids, renumbered(len(ids)), strict=True))
        else:
            items[mover] = place
        assert len(set(items.values())) == len(items)
