"""Names resolved across the store: aliases, names written in two scripts, surnames, user merges.

``entities`` finds mentions in one text; this decides which of them name the
same thing: alias definitions an article makes (主要7カ国(G7)), a Latin name
that sounds like exactly one Japanese person, a surname the same text writes
in full, and the aliases the user declares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from matome.language import names
from matome.language.entities import Gazetteer, fold
from matome.records import Mention


def alias_pairs(mentions: Iterable[Mention]) -> list[tuple[str, str]]:
    """(alias key, canonical key) pairs an article defines: 主要7カ国(G7)."""
    return [(fold(m.surface), m.key) for m in mentions if fold(m.surface) != m.key
            and not m.surface.isascii() and m.key.isascii()]


def cross_script_links(mentions: Iterable[Mention]) -> list[tuple[str, str]]:
    """(Latin key, Japanese key) for names written both ways: "Kenji Saeki" → 佐伯健司.

    A link is made only when exactly one Japanese person sounds like the
    Latin name; fuller Japanese names win over surnames (佐伯健司 over 佐伯).
    """
    return links_by_sound(sounds(mentions))


def sounds(mentions: Iterable[Mention]) -> list[tuple[str, str, str]]:
    """("latin" | "japanese", key, sound) of each name that may be written in the other script."""
    out = []
    for m in mentions:
        if not m.sound:
            continue
        if m.key.isascii():  # a titled person, or an untitled name that may be one
            out.append(("latin", m.key, m.sound))
        elif m.kind == "person":
            out.append(("japanese", m.key, m.sound))
    return out


def name_facts(mentions: list[Mention]) -> list[tuple[str, str, str]]:
    """What one article teaches the store-wide resolver: alias definitions and name sounds,
    as (kind, a, b) rows the store keeps, so resolution never re-reads every analysis."""
    return [("alias", a, c) for a, c in alias_pairs(mentions)] + sounds(mentions)


def resolver_from_facts(gazetteer: Gazetteer, user_aliases: dict[str, list[str]],
                        facts: Iterable[tuple[str, str, str]]) -> Resolver:
    """The resolver the stored facts give (alias definitions in sorted order: the first wins)."""
    facts = sorted(facts)
    defined = [(a, b) for kind, a, b in facts if kind == "alias"]
    heard = [f for f in facts if f[0] != "alias"]
    return Resolver(gazetteer, user_aliases, defined, links_by_sound(heard), surname_links(heard))


def surname_links(heard: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(surname key, full name key) for each Japanese surname that begins exactly one known
    person's full name, read the same way: 高市 → 高市早苗 across articles.

    News names a person in full once and by surname after; an outlet's short
    item, a headline or a later report may give only the surname, and without
    this the two are different people to grouping, storylines and tags. Two
    known full names (小泉進次郎, 小泉純一郎) leave the surname unmapped, as
    ``resolve_surnames`` does within one text.
    """
    sound = fullest_readings(heard)["japanese"]
    by_head: dict[str, list[str]] = {}
    for key in sound:
        if len(key) >= 3:
            by_head.setdefault(key[:2], []).append(key)
    links = []
    for short, s in sorted(sound.items()):
        if len(short) < 2 or " " in s:
            continue  # only a one-word reading is a surname's
        fuller = [k for k in by_head.get(short[:2], ()) if k != short and k.startswith(short)
                  and sound[k].split()[0] == s and len(sound[k].split()) > 1]
        if len(fuller) == 1:
            links.append((short, fuller[0]))
    return links


def fullest_readings(heard: Iterable[tuple[str, str, str]]) -> dict[str, dict[str, str]]:
    """Per kind ("latin", "japanese"), each name's fullest reading: the one with most words,
    then the greatest, so the result does not depend on which article was read first."""
    out: dict[str, dict[str, str]] = {"latin": {}, "japanese": {}}
    for kind, key, sound in heard:
        known = out["latin" if kind == "latin" else "japanese"]
        old = known.get(key)
        if old is None or (len(sound.split()), sound) > (len(old.split()), old):
            known[key] = sound
    return out


def links_by_sound(heard: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(Latin key, Japanese key) for each Latin name that sounds like exactly one Japanese person.

    A name read several ways (佐伯: saeki, saiki) counts with its fullest reading, the one
    with most words, so the result does not depend on which article was read first.
    """
    readings = fullest_readings(heard)
    latin, japanese = readings["latin"], readings["japanese"]
    # A Japanese name can only sound like a Latin one whose parts include its first part's
    # skeleton (``names.same_name``): compared with those alone, not with every name known,
    # which made each run's links cost (Latin names) x (Japanese names) as the archive grew.
    by_first: dict[str, list[str]] = {}
    for k, js in japanese.items():
        if parts := js.split():
            by_first.setdefault(names.skeleton(parts[0]), []).append(k)
    links = []
    for lkey, lsound in sorted(latin.items()):
        near = {k for q in lsound.split() for k in by_first.get(names.skeleton(q), ())}
        hits = [k for k in near if names.same_name(japanese[k], lsound)]
        longest = max((len(japanese[k].split()) for k in hits), default=0)
        best = sorted({k for k in hits if len(japanese[k].split()) == longest})
        if len(best) == 1:
            links.append((lkey, best[0]))
    return links


class Resolver:
    """Maps mention keys to canonical keys across the whole store.

    Built from: the gazetteer, user aliases from config, alias definitions
    found in any article, surnames that begin exactly one full name known in
    the store, and — per text — surname-only person mentions resolved to the
    one full name they begin (佐伯 → 佐伯健司).
    """

    def __init__(self, gazetteer: Gazetteer, user_aliases: dict[str, list[str]],
                 defined: Iterable[tuple[str, str]],
                 links: Iterable[tuple[str, str]] = (),
                 surnames: Iterable[tuple[str, str]] = ()) -> None:
        self.map: dict[str, str] = dict(surnames)
        self.people: set[str] = set()  # Japanese persons a Latin name was linked to
        for latin, japanese in links:
            self.map[latin] = japanese
            self.people.add(japanese)
        for surface, entry in gazetteer.by_surface.items():
            self.map[fold(surface)] = fold(entry.name)
        for alias, canonical in defined:
            self.map.setdefault(alias, canonical)
        for canonical, aliases in user_aliases.items():
            for a in aliases:
                self.map[fold(a)] = fold(canonical)

    def key(self, key: str) -> str:
        seen = set()
        while key in self.map and key not in seen and self.map[key] != key:
            seen.add(key)
            key = self.map[key]
        return key

    def resolve(self, mentions: Iterable[Mention]) -> list[Mention]:
        resolved = resolve_surnames([replace(m, key=self.key(m.key)) for m in mentions])
        # an untitled Latin name ("Aoi Saotome, 19, won…") linked to a Japanese person is one
        return [replace(m, kind="person") if m.kind == "other" and m.name.isascii()
                and m.key in self.people else m for m in resolved]


def resolve_surnames(mentions: list[Mention]) -> list[Mention]:
    """Short forms of a name the same text writes in full become the full name's key.

    A Japanese person key that begins exactly one longer person key (佐伯 →
    佐伯健司); a one-word Latin name that ends exactly one longer Latin name
    (Wenger → Arsene Wenger, Obama → Michelle Obama unless Barack Obama is
    named too, in which case it stays ambiguous and unmapped).
    """
    persons = {m.key for m in mentions if m.kind == "person"}
    full: dict[str, str] = {}
    for k in persons:
        longer = [p for p in persons if p != k and p.startswith(k) and len(k) >= 2]
        if len(longer) == 1:
            full[k] = longer[0]
    last_word: dict[str, set[str]] = {}
    for m in mentions:
        if m.key.isascii() and " " in m.name:
            last_word.setdefault(m.name.rsplit(" ", 1)[1], set()).add(m.key)
    for m in mentions:
        if m.key.isascii() and " " not in m.name and m.key not in full and not m.name.isupper() \
                and len(owners := last_word.get(m.name, set())) == 1:
            full[m.key] = next(iter(owners))
    return [replace(m, key=full.get(m.key, m.key)) for m in mentions]
