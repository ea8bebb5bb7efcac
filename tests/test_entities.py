from matome.language import Resolver, analyze, find_mentions, fold, strip_title, tokenize


def test_fold_katakana_variants():
    assert fold("ベッセント") == fold("ベセント")
    assert fold("ヴァレンティ") == fold("バレンティ")
    assert fold("Ｇ７") == fold("g7")


def test_a_reading_after_a_name_is_not_part_of_it():
    """Broadcasters write readings after names (日本（にっぽん）維新の会), and Sudachi keeps some
    such names whole: the key and the name shown are those other outlets write."""
    assert fold("日本（にっぽん）維新の会") == fold("日本維新の会")
    got = {m.key: m for m in _mentions("自民党と日本（にっぽん）維新の会が合意した。")}
    assert fold("日本維新の会") in got
    assert got[fold("日本維新の会")].name == "日本維新の会"
    assert "(g7)" in fold("主要7カ国（G7）")  # only a reading in kana goes, not an abbreviation


def test_a_surname_alone_resolves_to_the_one_full_name_the_store_knows():
    """A short report or headline names 高市 where others name 高市早苗: without this they are two
    people to grouping, storylines and tag pages (two tag pages for one prime minister)."""
    from matome.language import name_facts, resolver_from_facts
    full = _mentions("高市早苗首相は会見で述べた。小泉進次郎防衛相と小泉純一郎元首相も出席した。")
    short = _mentions("高市首相と小泉氏が会談した。")
    res = resolver_from_facts(analyze.gazetteer(), {}, name_facts(full) + name_facts(short))
    keys = {m.surface[:2]: m.key for m in res.resolve(short)}
    assert keys["高市"] == fold("高市早苗")
    assert keys["小泉"] == fold("小泉")  # two full names begin with it: left as it is
    alone = resolver_from_facts(analyze.gazetteer(), {}, name_facts(short))
    assert {m.key for m in alone.resolve(short)} >= {fold("高市")}  # no full name known: kept


def test_a_common_noun_sudachi_reads_as_a_surname_is_not_a_person():
    """「…との見方が強い」: Sudachi tags 見方 (a view) as a surname, and 見方 became a tag page of
    real reports. A surname with its title stays a person, even one that is also a noun (森)."""
    assert _mentions("市場では据え置くとの見方が強い。") == []
    assert [(m.key, m.kind) for m in _mentions("森首相は会見で述べた。")] == [("森", "person")]
    assert ("高市", "person") in {(m.key, m.kind) for m in _mentions("高市が勝った。")}


def test_strip_titles():
    assert strip_title("佐伯健司外相") == "佐伯健司"
    assert strip_title("ルビオ国務長官") == "ルビオ"
    assert strip_title("Foreign Minister Kenji Saeki") == "Kenji Saeki"


def _mentions(text):
    gaz = analyze.gazetteer()
    return find_mentions(text, tokenize(text), gaz)


def test_people_places_orgs_and_alias_definitions():
    text = "佐伯健司外相は主要7カ国(G7)の会合で米国務省のルビオ氏と会った。外務省が発表した。"
    got = {(m.key, m.kind) for m in _mentions(text)}
    assert ("佐伯健司", "person") in got
    assert ("g7", "organization") in got
    assert ("米国務省", "organization") in got  # the US State Department, not 米国 + 務省
    assert ("外務省", "organization") in got
    assert any(k == fold("ルビオ") and kind == "person" for k, kind in got)


def test_surname_with_title_is_a_person_and_resolves_to_full_name():
    ms = _mentions("佐伯健司外相が出席した。佐伯外相は「協力する」と述べた。")
    people = [m for m in ms if m.kind == "person"]
    resolved = Resolver(analyze.gazetteer(), {}, []).resolve(people)
    assert {m.key for m in resolved} == {"佐伯健司"}


def test_compounds_expand_to_countries():
    keys = {m.key for m in _mentions("日米首脳会談が開かれた。")}
    assert {"日本", "米国"} <= keys


def test_user_aliases_merge():
    res = Resolver(analyze.gazetteer(), {"北海市": ["ホッカイ市", "Hokkai City"]}, [])
    assert res.key(fold("Hokkai City")) == fold("北海市")


def test_english_sentence_openers_are_not_names():
    """Every sentence starts with a capital: an opener the text also writes in lower
    case, or a word that begins no name, is not (part of) a name; a headline's last
    word and the next paragraph's first are two names, not one."""
    text = ("Heysel\n\nThe Football Association banned English clubs. Even Chelsea agreed. "
            "New Premier League squad rules were explained; the new rules start in May. "
            "Although Arsene Wenger objected, Bill Gates and Back Street were unmoved.")
    names = {m.name for m in _mentions(text)}
    assert {"Heysel", "Football Association", "Chelsea", "Premier League", "Arsene Wenger",
            "Bill Gates", "Back Street"} <= names
    assert not names & {"Even", "Even Chelsea", "New Premier League", "Although",
                        "Although Arsene Wenger", "Heysel The Football Association"}


def test_latin_short_names_take_the_full_name_the_text_gives():
    from matome.language import resolve_surnames
    text = ("Arsene Wenger defended his side. Wenger said so. Michelle Obama and Barack Obama met; "
            "Obama spoke. The FA agreed.")
    keys = {m.name: m.key for m in resolve_surnames(_mentions(text))}
    assert keys["Wenger"] == keys["Arsene Wenger"]
    assert keys["Obama"] not in {keys["Michelle Obama"], keys["Barack Obama"]}  # two owners: left alone
    assert keys["FA"] == "fa"


def test_latin_runs_are_cut_into_the_names_they_hold():
    # a known body inside a run stands on its own, and an office makes the rest a person
    got = {(m.key, m.kind) for m in _mentions("Bank of Japan Governor Ueda Kazuo spoke on Friday.")}
    assert got == {("日本銀行", "organization"), ("uedakazuo", "person")}
    # an office inside a run starts a person, and an abbreviated one alone names nobody
    got = {m.key for m in _mentions("Vice Foreign Minister Takehiro Funakoshi met BOJ Gov. Kazuo Ueda.")}
    assert got == {"takehirofunakoshi", "日本銀行", "kazuoueda"}
    # a Title Case headline: its ordinary words (written in lower case below, or stop words)
    # are not names
    text = ("Japan Summons Chinese Ambassador After Fighter Jet Radar Lock Incident Near Okinawa\n"
            "A Chinese fighter jet put a radar lock on a Japanese jet in the incident, and Japan "
            "summons the ambassador.")
    assert {m.key for m in _mentions(text)} == {"日本", "okinawa"}
    # outside headlines, names of several words stay whole
    assert "ministryofculture" in {m.key for m in _mentions("The Ministry of Culture said so.")}


def test_english_stop_words_are_scikit_learns_read_without_importing_it() -> None:
    """The list is read from scikit-learn's module file: importing the package (and SciPy)
    cost every worker process that reads English 1.5-3 s."""
    import subprocess
    import sys

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from matome.language import latin

    assert latin._stop_words() == ENGLISH_STOP_WORDS
    code = ("import sys; from matome.language import latin; latin._stop_words(); "
            "print('sklearn' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
