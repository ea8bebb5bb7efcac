"""Which stories a change makes to be written again (``matome.write.windows``).

A story is written from the ``k`` stories before it in its storyline. Against the whole
storylines before and after random changes (stories added, gone, moved within a storyline
or to another, changed in place; keys tied and undated), the plan must hold every story
whose ``k`` earlier stories differ or include a changed one, each with its earlier stories
as the whole storyline now orders them, and no more than the changes' neighbourhoods.
"""

from __future__ import annotations

import random
from pathlib import Path

from matome.store import Store, db_url
from matome.write import windows

Places = dict[str, tuple[str, str]]


def _windows(places: Places, k: int) -> dict[str, list[str]]:
    """Each story's ``k`` predecessors in its storyline, the whole storyline sorted."""
    out: dict[str, list[str]] = {}
    lines: dict[str, list[tuple[str, str]]] = {}
    for sid, (line, key) in places.items():
        lines.setdefault(line, []).append((key, sid))
    for rows in lines.values():
        rows.sort()
        for i, (_, sid) in enumerate(rows):
            out[sid] = [s for _, s in rows[max(0, i - k) : i]]
    return out


def _case(rng: random.Random) -> tuple[Places, Places, list[str]]:
    """Places before, places after, and the queued stories (every one whose place or reports
    changed, as the store queues them)."""
    keys = ["", *(f"2026-01-{d:02d}T00:00:00.000000" for d in range(1, 12))]
    lines = ["la", "lb", "lc"]
    before = {f"s{i:03d}": (rng.choice(lines), rng.choice(keys)) for i in range(rng.randint(1, 30))}
    after = dict(before)
    queued: list[str] = []
    for _ in range(rng.randint(1, 6)):
        what = rng.random()
        if what < 0.3 or not before:  # a new story
            sid = f"s{len(before) + len(queued) + 100:03d}"
            after[sid] = (rng.choice(lines), rng.choice(keys))
        else:
            sid = rng.choice(sorted(before))
            if what < 0.5:
                after.pop(sid, None)  # merged away, or left without a report
            elif what < 0.7:
                after[sid] = (before[sid][0], rng.choice(keys))  # an earlier report joined
            elif what < 0.85:
                after[sid] = (rng.choice(lines), before[sid][1])  # its storyline merged
            # else: changed in place (a report joined; the same first report)
        queued.append(sid)
    return before, after, sorted(set(queued))


def plans_hold_every_changed_story(store: Store, ks: tuple[int, ...] = (1, 2, 5),
                                   trials: int = 150) -> None:
    """The property, on ``store`` (SQLite here; PostgreSQL in ``test_postgres``)."""
    try:
        for k in ks:
            rng = random.Random(k)
            for trial in range(trials):
                before, after, queued = _case(rng)
                store.place_written(before, [])
                now = {sid: after[sid] for sid in queued if sid in after}
                got = windows.plan(store, now, queued, k)
                old, new = _windows(before, k), _windows(after, k)
                changed = set(queued)
                must = {sid for sid in after if sid in changed or old.get(sid) != new[sid]
                        or changed & set(new[sid])}
                assert must <= set(got.stories), (k, trial, before, after, queued)
                assert set(got.stories) <= set(after)
                assert len(got.stories) == len(set(got.stories))
                assert all(got.earlier[sid] == new[sid] for sid in got.stories), (k, trial)
                # no more than each change's neighbourhood: itself and k after, where it was and is
                assert len(got.stories) <= len(queued) * (2 * k + 1)
                store.place_written(after, windows.gone(queued, now))
                assert store.write_places(sorted({*before, *after})) == after
                store.place_written({}, sorted(after))  # the next trial starts empty
    finally:
        store.close()


def test_the_plan_holds_every_story_whose_inputs_changed(tmp_path: Path) -> None:
    plans_hold_every_changed_story(Store(db_url(str(tmp_path / "w.db"))))


def test_a_storyline_is_read_from_just_before_the_change(tmp_path: Path) -> None:
    """A change at a storyline's end reads its last stories, not the years before."""
    store = Store(db_url(str(tmp_path / "w.db")))
    try:
        places = {f"s{i:04d}": ("la", f"2026-01-01T00:00:{i // 100:02d}.{i:06d}") for i in range(2000)}
        store.place_written(places, [])
        tail = store.line_tail("la", (places["s1990"][1], "s1990"), 5)
        assert [sid for _, sid in tail] == [f"s{i:04d}" for i in range(1985, 2000)]
        got = windows.plan(store, {"s2000": ("la", "2026-01-02T00:00:00.000000")}, ["s2000"], 5)
        assert got.stories == ["s2000"]
        assert got.earlier["s2000"] == [f"s{i:04d}" for i in range(1995, 2000)]
    finally:
        store.close()
