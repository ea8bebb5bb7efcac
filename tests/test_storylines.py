"""Storylines: a developing situation is linked across weeks, a same-actor other topic is not.

The fixture is synthetic and written here: a bridge collapse in an invented
city, followed for four weeks (collapse, inspection report, repair plan,
reopening), against a background of unrelated news, and the same city's
snow festival (same actor, another topic). Vectors are built so that the
situation's reports share a direction, as e5 places reports of one
situation; entities are what the resolver would give.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np

from matome.settings import ClusterSettings
from matome.stories.cluster import Assignment, Clusterer, Features
from matome.stories.storylines import Profile, Storylines, profile_cosine

DIM = 32
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
RNG = np.random.default_rng(7)
BRIDGE = RNG.standard_normal(DIM)
FESTIVAL = RNG.standard_normal(DIM)
SITUATION = frozenset({"北海市", "北海大橋", "国土交通省", "北海建設"})


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def _report(aid: str, when: datetime, topic: np.ndarray | None, ents: set[str],
            lemmas: set[str]) -> Features:
    noise = RNG.standard_normal(DIM)
    vec = _unit(noise) if topic is None else _unit(topic + 0.5 * noise)
    return Features(aid, "ja", when, vec, frozenset(lemmas), frozenset(ents), frozenset({when.date()}))


def _background(clusterer: Clusterer, start: datetime, n: int) -> None:
    """Unrelated reports, one a day, so the live mean is that of a news stream."""
    for i in range(n):
        clusterer.assign(_report(f"bg{start:%m%d}-{i}", start + timedelta(days=i, hours=1), None,
                                 {f"無関係{start:%m%d}{i}", "東京"}, {f"話題{i}"}))


def _situation_week(clusterer: Clusterer, week: int, extra: set[str]) -> list[Assignment]:
    """Two reports of one event in the bridge storyline, a week apart from the last."""
    when = T0 + timedelta(weeks=week)
    return [clusterer.assign(_report(f"br{week}-{i}", when + timedelta(hours=i), BRIDGE,
                                     set(SITUATION) | extra, {"北海大橋", f"段階{week}"}))
            for i in range(2)]


def test_a_developing_situation_is_one_storyline_across_weeks():
    clusterer = Clusterer(ClusterSettings())
    _background(clusterer, T0 - timedelta(days=10), 10)
    weeks = [_situation_week(clusterer, w, extra)
             for w, extra in enumerate([{"崩落"}, {"点検"}, {"補修"}, {"再開"}])]
    stories = [w[0].story for w in weeks]
    assert len(set(stories)) == 4  # four events, four stories
    assert all(w[0].new for w in weeks)
    # (earlier stories have left the join window; their storyline is what they were given)
    assert len({w[0].storyline for w in weeks}) == 1, "the four weeks are one developing situation"
    # each later week follows the one before it (続報)
    assert [w[0].follows for w in weeks[1:]] == stories[:-1]


def test_the_same_actor_on_another_topic_is_not_linked():
    clusterer = Clusterer(ClusterSettings())
    _background(clusterer, T0 - timedelta(days=10), 10)
    first = _situation_week(clusterer, 0, {"崩落"})[0]
    festival = [clusterer.assign(_report(f"fest-{i}", T0 + timedelta(days=3, hours=i), FESTIVAL,
                                         {"北海市", "雪まつり", "北海公園"}, {"雪像", "開幕"}))
                for i in range(4)]
    assert festival[0].new and not festival[0].follows
    assert all(not a.relinked for a in festival)  # not even once the story has grown
    assert festival[0].storyline != first.storyline


def test_a_story_whose_first_report_said_little_is_relinked_when_it_grows():
    clusterer = Clusterer(ClusterSettings())
    _background(clusterer, T0 - timedelta(days=10), 10)
    first = _situation_week(clusterer, 0, {"崩落"})[0]
    when = T0 + timedelta(weeks=1)
    # a first report naming none of the situation's actors starts a storyline of its own …
    vague = clusterer.assign(Features("v1", "ja", when, _unit(BRIDGE), frozenset({"北海大橋", "点検"}),
                                      frozenset({"消防"}), frozenset({when.date()})))
    assert vague.new and vague.follows is None
    own_line = vague.storyline
    # … and the second report of that story, naming them, shows where it belongs
    second = clusterer.assign(Features("v2", "ja", when + timedelta(hours=1), _unit(BRIDGE),
                                       frozenset({"北海大橋", "点検"}), SITUATION,
                                       frozenset({when.date()})))
    assert second.story == vague.story
    line = first.storyline
    assert line is not None and line != own_line
    assert second.relinked == [(own_line, line)]  # the younger storyline goes into the older
    assert clusterer.storyline_of[vague.story] == line
    assert own_line not in clusterer.lines.lines


def test_storylines_past_their_days_leave_memory():
    cfg = ClusterSettings(window_days=2, storyline_days=5)
    clusterer = Clusterer(cfg)
    for i in range(60):  # one unrelated event a day for two months
        clusterer.assign(_report(f"a{i}", T0 + timedelta(days=i), None, {f"e{i}"}, {f"w{i}"}))
    assert len(clusterer.lines.lines) <= 7
    assert len(clusterer.storyline_of) <= 4


def test_entity_profiles_weigh_what_a_storyline_is_about():
    line = Counter({"A": 10, "B": 1, "C": 1})
    about, passing = Counter({"A": 1, "D": 1}), Counter({"B": 1, "D": 1})
    # the storyline's main actor counts ten times a name it mentioned once
    assert profile_cosine(about, line) > 3 * profile_cosine(passing, line) > 0
    assert profile_cosine(about, Counter()) == 0.0
    # weighted: a name every report carries (A) counts for less than a rare one (B)
    idf = {"A": 0.1, "B": 3.0, "C": 3.0, "D": 3.0}.__getitem__
    assert profile_cosine(passing, line, idf) > profile_cosine(about, line, idf)


def test_words_tell_apart_two_situations_of_the_same_actors():
    """Two live storylines name the same ministers; the story's words say which it continues,
    and a word every storyline uses counts less than one only its own uses (IDF)."""
    lines = Storylines(ClusterSettings())
    same = Counter({"佐伯健司": 1, "韓国": 1})
    day = T0
    for lid, words in (("l-missile", {"ミサイル", "発射", "会談"}),
                       ("l-holiday", {"ワーキングホリデー", "枠", "会談"}),
                       ("l-other", {"大雪", "会談"})):
        lines.restore(f"s-{lid}", Profile(_unit(RNG.standard_normal(DIM)), same, 1, {"ja"},
                                          Counter(words)), day, lid)
    story = Profile(np.zeros(DIM), same, 1, {"ja"}, Counter({"ワーキングホリデー", "会談"}))
    holiday, missile = lines.lines["l-holiday"], lines.lines["l-missile"]
    assert lines.affinities(story, holiday)[2] > 0.7
    assert 0 < lines.affinities(story, missile)[2] < 0.3  # only 会談, used by every line
    assert lines.fit(story, holiday) > lines.fit(story, missile)
    assert lines.affinities(Profile(np.zeros(DIM), same, 1, {"ja"}), holiday)[2] == 0.0


def _quiet_lines(threshold: float) -> Storylines:
    """A bridge storyline last reported at T0, among unrelated ones (for the live mean)."""
    rng = np.random.default_rng(11)
    lines = Storylines(ClusterSettings(storyline_threshold=threshold, storyline_days=30))
    for i in range(8):
        lines.restore(f"s-bg{i}", Profile(_unit(rng.standard_normal(DIM)), Counter({f"無関係{i}": 1}),
                                          1, {"ja"}, Counter({f"話題{i}"})), T0, f"l-bg{i}")
    lines.restore("s-bridge", Profile(_unit(BRIDGE), Counter(SITUATION), 1, {"ja"},
                                      Counter({"北海大橋", "崩落"})), T0, "l-bridge")
    return lines


def test_a_storyline_quiet_for_weeks_needs_more_proof():
    """The same story continues a storyline reported the day before, not one silent for weeks."""
    rng = np.random.default_rng(12)
    story = Profile(_unit(BRIDGE + 0.8 * rng.standard_normal(DIM)), Counter({"北海大橋", "北海市"}),
                    1, {"ja"}, Counter({"北海大橋", "通行止め"}))
    base = _quiet_lines(0.2)
    fit = base.fit(story, base.lines["l-bridge"])
    assert fit > 0.1
    threshold = fit / 1.4  # met by a storyline a day quiet, not by one quiet 25 days
    lines = _quiet_lines(threshold)
    bridge = lines.lines["l-bridge"]
    assert lines.need(bridge, None) == threshold  # undated: no quiet to count
    assert lines.need(bridge, T0 - timedelta(days=3)) == threshold  # the story is older
    assert threshold < lines.need(bridge, T0 + timedelta(days=1)) < fit
    assert lines.need(bridge, T0 + timedelta(days=25)) > fit
    assert lines.need(bridge, T0 + timedelta(days=90)) == 2 * threshold  # capped at storyline_days

    soon, _, why = lines.start("s-soon", story, T0 + timedelta(days=1), "l-soon")
    assert soon == "l-bridge" and why["storyline_fit"] > why["storyline_needed"]
    late, follows, why = _quiet_lines(threshold).start("s-late", story, T0 + timedelta(days=25),
                                                       "l-late")
    assert late == "l-late" and follows is None and why == {}


def test_one_bridging_story_does_not_chain_two_storylines():
    """A grown story fits another storyline; its own storyline, as a whole, does not: no merge
    (that chain, story by story, grew a catch-all). Alone in its storyline, it moves over."""
    rng = np.random.default_rng(13)
    x, y = _unit(rng.standard_normal(DIM)), _unit(rng.standard_normal(DIM))

    def lines_with(own_reports: int) -> Storylines:
        lines = Storylines(ClusterSettings())
        for i in range(8):
            lines.restore(f"s-bg{i}", Profile(_unit(rng.standard_normal(DIM)), Counter({f"他{i}": 1}),
                                              1, {"ja"}, Counter({f"話{i}"})), T0, f"l-bg{i}")
        lines.restore("s-y", Profile(2 * y, Counter({"丙": 2, "丁": 2}), 2, {"ja"},
                                     Counter({"港湾": 2})), T0, "l-y")
        if own_reports:
            lines.restore("s-x", Profile(own_reports * x, Counter({"甲": own_reports, "乙": own_reports}),
                                         own_reports, {"ja"}, Counter({"選挙": own_reports})), T0, "l-x")
        lines.restore("s-bridge", Profile(2 * y, Counter({"丙": 2, "丁": 2}), 2, {"ja"},
                                          Counter({"港湾": 2})), T0, "l-x")
        return lines

    bridge = Profile(2 * y, Counter({"丙": 2, "丁": 2}), 2, {"ja"}, Counter({"港湾": 2}))
    lines = lines_with(14)
    other, own = lines.lines["l-y"], lines.lines["l-x"]
    assert lines.fit(bridge, other) > lines.need(other, T0)
    assert lines.fit(own.profile(), other) < lines.need(other, T0)
    assert lines.recheck("s-bridge", bridge, T0) == []
    assert lines.line_of["s-x"] == lines.line_of["s-bridge"] == "l-x"

    alone = lines_with(0)
    assert alone.recheck("s-bridge", bridge, T0) == [("l-x", "l-y")]
    assert alone.line_of["s-bridge"] == "l-y"


def test_a_saved_state_loads_with_each_word_once():
    """The clusterer's snapshot (``window.dump``) loads back equal, its Counters still
    Counters, and a word that several stories and storylines count, made apart in each
    report, comes back as one interned string: the window holds a word once, not once per
    report or per run."""
    import io
    import pickle
    import sys

    from matome.stories import window

    clusterer = Clusterer(ClusterSettings())
    for i in range(6):  # each report's words built apart, as parsing each analysis does
        word = "".join(["北海", "大橋"])
        vec = _unit(BRIDGE + RNG.standard_normal(DIM))
        clusterer.assign(Features(f"r{i}", "ja", T0 + timedelta(days=i), vec,
                                  frozenset({word, f"段階{i}"}), frozenset({word}), frozenset({T0.date()})))
    f = io.BytesIO()
    window.dump(clusterer, f)
    back = pickle.loads(f.getvalue())
    assert set(back.stories) == set(clusterer.stories)
    keys = []
    for sid, state in back.stories.items():
        assert type(state.lemmas) is Counter and state.lemmas == clusterer.stories[sid].lemmas
        assert state.entities == clusterer.stories[sid].entities
        keys += [k for k in [*state.lemmas, *state.entities] if k == "北海大橋"]
        keys += [k for f in state.feats for k in f.lemmas if k == "北海大橋"]
    for line in back.lines.lines.values():
        keys += [k for k in line.entities if k == "北海大橋"]
    assert len(keys) > 6 and all(k is sys.intern("北海大橋") for k in keys)
