"""Unit tests for summarizer.extract.grounding: locating quotes and names in an article."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from summarizer.extract.grounding import Article, fold, fold_quote, mention_spans
from summarizer.schema import Span

SEED = Path(__file__).resolve().parents[1] / "fixtures/cases/khamenei-moscow-exiles/article.txt"


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(seed_text: str) -> Article:
    return Article(seed_text)


def assert_slices(article: Article, span: Span | None) -> Span:
    assert span is not None
    assert article.text[span.start : span.end] == span.text
    assert span.end - span.start == len(span.text)
    return span


# --------------------------------------------------------------------------- fold


def test_fold_unifies_quotes_dashes_and_whitespace() -> None:
    # quotation marks drop out (a model adds or strips them), apostrophes stay
    assert fold("“a” ‘b’ c’s") == "a b c's"
    # the dash family, "--" and the spacing around a dash
    assert fold("a – b — c ‐ d -- e") == "a-b-c-d-e"
    assert fold("a \n\t  b") == "a b"
    assert fold("Same") == "Same"  # names keep their case
    assert fold_quote("Same") == "same"  # quotes do not
    # compatibility forms: no-break space, ligature, full-width letters, the ellipsis character
    assert fold_quote("a\u00a0b ﬁne Ｍoscow …") == "a b fine moscow ..."


# --------------------------------------------------------------------------- exact matches


def test_exact_match_offsets() -> None:
    article = Article("Alpha beta. Gamma delta.")
    span = assert_slices(article, article.locate("Gamma delta"))
    assert (span.start, span.end, span.text) == (12, 23, "Gamma delta")


def test_exact_match_returns_first_occurrence() -> None:
    article = Article("one two one two")
    span = assert_slices(article, article.locate("one two"))
    assert (span.start, span.end) == (0, 7)


def test_quote_is_stripped_before_matching() -> None:
    article = Article("Alpha beta. Gamma delta.")
    span = assert_slices(article, article.locate("  \n Gamma delta \t"))
    assert (span.start, span.text) == (12, "Gamma delta")


@pytest.mark.parametrize("quote", ["", "   ", "\n\t"])
def test_empty_quote_is_not_found(quote: str) -> None:
    assert Article("some text").locate(quote) is None


def test_exact_match_in_seed(seed: Article, seed_text: str) -> None:
    quote = "Mr. Yanukovich fled to escape charges of mass murder in his homeland."
    span = assert_slices(seed, seed.locate(quote))
    assert span.text == quote
    assert span.start == seed_text.index(quote)


# --------------------------------------------------------------------------- tolerated variants


@pytest.mark.parametrize(
    ("text", "quote", "expected"),
    [
        # runs of whitespace and newlines
        ("He said  this\n  was fine.", "said this was fine", "said  this\n  was fine"),
        ("line one\nline two", "one line two", "one\nline two"),
        ("a b c", "a   \n b\tc", "a b c"),
        # curly in the article, straight in the quote
        ("He said “no” and it’s done.", 'said "no" and it\'s', "said “no” and it’s"),
        ("the ‘plan B’ is", "the 'plan B' is", "the ‘plan B’ is"),
        # straight in the article, curly in the quote
        ('He said "no" and it\'s done.', "said “no” and it’s", 'said "no" and it\'s'),
        ("the 'plan B' is", "the ‘plan B’ is", "the 'plan B' is"),
        # dashes both ways
        ("a post–Soviet state", "post-Soviet", "post–Soviet"),
        ("wait — then go", "wait - then go", "wait — then go"),
        ("a post-Soviet state", "post—Soviet", "post-Soviet"),
        ("a post-Soviet state", "post–Soviet", "post-Soviet"),
        # trailing period the article lacks
        ("He left, and then he came back", "He left.", "He left"),
        ("He left, and then he came back", "he came back.", "he came back"),
        # several at once
        ("“It’s  done” —\nhe said", '"It\'s done" - he said.', "“It’s  done” —\nhe said"),
    ],
)
def test_tolerated_variants_map_to_original_text(text: str, quote: str, expected: str) -> None:
    article = Article(text)
    span = assert_slices(article, article.locate(quote))
    assert span.text == expected
    assert span.start == text.index(expected)


def test_trailing_period_is_kept_when_article_has_it() -> None:
    article = Article("He left. Then more.")
    span = assert_slices(article, article.locate("He left."))
    assert span.text == "He left."


def test_seed_straight_quotes_match_curly_article(seed: Article, seed_text: str) -> None:
    quote = "\"He is studying Russian and brushing up on his ophthalmology again. It's a passion of his"
    span = assert_slices(seed, seed.locate(quote))
    assert (
        span.text
        == "“He is studying Russian and brushing up on his ophthalmology again. It’s a passion of his"
    )
    assert span.start == seed_text.index("“He is studying")


def test_seed_curly_quote_found_exactly(seed: Article, seed_text: str) -> None:
    quote = "“He is studying Russian and brushing up on his ophthalmology again."
    span = assert_slices(seed, seed.locate(quote))
    assert span.text == quote
    assert seed_text[span.start] == "“"


def test_seed_straight_apostrophe_maps_to_curly(seed: Article) -> None:
    span = assert_slices(seed, seed.locate("he obviously doesn't need the money"))
    assert span.text == "he obviously doesn’t need the money"


def test_seed_quote_across_line_break(seed: Article) -> None:
    # sentence end of one paragraph followed by the start of the next
    quote = "if his regime continues to crumble. The most recent dictator"
    span = assert_slices(seed, seed.locate(quote))
    assert span.text == "if his regime continues to crumble.\nThe most recent dictator"


def test_seed_trailing_period_not_in_article(seed: Article) -> None:
    quote = "That prospect gained traction this week following a report in the Times of London."
    span = assert_slices(seed, seed.locate(quote))
    assert span.text == quote[:-1]


def test_seed_en_dash_in_quote_matches_hyphen(seed: Article) -> None:
    span = assert_slices(seed, seed.locate("Kyrgyzstan’s first post–Soviet president"))
    assert span.text == "Kyrgyzstan’s first post-Soviet president"


# --------------------------------------------------------------------------- not tolerated


@pytest.mark.parametrize(
    "quote",
    [
        "He said this was great",  # changed word
        "He said ... fine",  # ellipsis join across a line break (another paragraph)
        "He said … fine",
        "He said this was fine, really",  # extra text
        "Hesaid this was fine",  # whitespace removed, not just collapsed
        "e said this was fin",  # cut inside words
        "nothing of the sort",
    ],
)
def test_not_tolerated(quote: str) -> None:
    assert Article("He said  this\n  was fine.").locate("He said this was fine") is not None
    assert Article("He said  this\n  was fine").locate(quote) is None


def test_seed_misspelled_name_is_not_found(seed: Article) -> None:
    # the article writes "Mr. Yanukovich" here; the canonical spelling is not accepted
    assert seed.locate("Mr. Yanukovych fled to escape charges of mass murder in his homeland.") is None
    # and the other way round: the article writes "Viktor Yanukovych" there
    assert seed.locate("Viktor Yanukovich, a former president of Ukraine") is None
    assert seed.locate("Viktor Yanukovych, a former president of Ukraine") is not None


@pytest.mark.parametrize(
    "quote", ["he said this was fine", "HE SAID THIS WAS FINE", "He said this was fine!"]
)
def test_case_and_trailing_punctuation_are_tolerated(quote: str) -> None:
    article = Article("He said  this\n  was fine")
    span = assert_slices(article, article.locate(quote))
    assert span.text == "He said  this\n  was fine"


def test_seed_ellipsis_join_in_one_paragraph_grounds_piece_by_piece(seed: Article, seed_text: str) -> None:
    for quote in [
        "Among those living well in Moscow ... Askar Akayev.",
        "Among those living well in Moscow … Askar Akayev.",
    ]:
        evidence = seed.locate(quote)
        assert evidence is not None
        start = seed_text.index("Among those living")
        assert evidence.start == start and evidence.text == seed_text[start : evidence.end]
        assert evidence.text.endswith("Askar Akayev.")
        assert [f.text for f in evidence.fragments] == ["Among those living well in Moscow", "Askar Akayev."]
        for fragment in evidence.fragments:
            assert_slices(seed, fragment)


def test_seed_ellipsis_across_paragraphs_is_refused(seed: Article) -> None:
    grounding = seed.ground("Askar Akayev ... If Iran’s widely despised supreme leader")
    assert grounding.evidence is None
    assert "paragraph" in grounding.refusal


def test_seed_case_change_is_found(seed: Article) -> None:
    span = assert_slices(seed, seed.locate("that prospect gained traction this week"))
    assert span.text == "That prospect gained traction this week"


def test_seed_text_not_in_article(seed: Article) -> None:
    assert seed.locate("Khamenei has already arrived in Moscow.") is None


# --------------------------------------------------------------------------- mentions


def test_mentions_inside_possessive(seed: Article, seed_text: str) -> None:
    spans = seed.mentions("Khamenei")
    for span in spans:
        assert_slices(seed, span)
        assert span.text == "Khamenei"
    assert spans[0].start == 0
    assert seed_text.startswith("Khamenei’s")
    # every whole-word occurrence, in order: headline, "Ayatollah Ali Khamenei", twice
    # "Ayatollah Khamenei", and "for Khamenei and"
    assert [s.start for s in spans] == sorted(s.start for s in spans)
    assert len(spans) == 5


def test_mentions_with_straight_apostrophe_find_curly(seed: Article) -> None:
    spans = seed.mentions("Khamenei's")
    assert len(spans) == 1
    span = assert_slices(seed, spans[0])
    assert span.text == "Khamenei’s"
    assert span.start == 0


def test_mentions_yanukovych_spellings_are_distinct(seed: Article, seed_text: str) -> None:
    ych = seed.mentions("Yanukovych")
    ich = seed.mentions("Yanukovich")
    assert [s.text for s in ych] == ["Yanukovych"]
    assert [s.text for s in ich] == ["Yanukovich"]
    assert ych[0].start == seed_text.index("Yanukovych")
    assert ich[0].start == seed_text.index("Yanukovich")
    assert ych[0].start != ich[0].start
    for span in ych + ich:
        assert_slices(seed, span)


def test_mentions_whole_word_only() -> None:
    article = Article("Putinism spread. Rasputin smiled. Putin spoke; Mr. Putin’s aide and Putin2 left.")
    spans = article.mentions("Putin")
    assert [(s.text, s.start) for s in spans] == [("Putin", 34), ("Putin", 51)]
    for span in spans:
        assert_slices(article, span)


def test_mentions_whole_word_in_seed(seed: Article) -> None:
    # "America" but not "American administration"; "Iran" but not "Iranian"
    assert [s.text for s in seed.mentions("America")] == ["America"]
    iran = seed.mentions("Iran")
    assert len(iran) == 1
    assert seed.text[iran[0].end] == "’"
    assert [s.text for s in seed.mentions("Ukraine")] == ["Ukraine"]  # not "Ukrainian"


def test_mentions_case_sensitive_and_empty() -> None:
    article = Article("Moscow and moscow")
    assert [s.start for s in article.mentions("Moscow")] == [0]
    assert article.mentions("") == []
    assert article.mentions("   ") == []
    assert article.mentions("Paris") == []


def test_mentions_multiword_across_whitespace() -> None:
    article = Article("Bashar\nal–Assad met  Bashar al-Assad.")
    spans = article.mentions("Bashar al-Assad")
    assert [s.text for s in spans] == ["Bashar\nal–Assad", "Bashar al-Assad"]
    for span in spans:
        assert_slices(article, span)


# --------------------------------------------------------------------------- mention_spans


def test_mention_spans_longest_wins_moscow(seed: Article, seed_text: str) -> None:
    result = mention_spans(seed, {"msu": ["Moscow State University"], "moscow": ["Moscow"]})
    msu_start = seed_text.index("Moscow State University")
    assert [(s.text, s.start) for s in result["msu"]] == [("Moscow State University", msu_start)]
    moscow_starts = [s.start for s in result["moscow"]]
    assert msu_start not in moscow_starts
    assert len(moscow_starts) == len(seed.mentions("Moscow")) - 1
    assert moscow_starts == sorted(moscow_starts)


def test_mention_spans_longest_wins_regardless_of_owner_order(seed: Article) -> None:
    a = mention_spans(seed, {"moscow": ["Moscow"], "msu": ["Moscow State University"]})
    b = mention_spans(seed, {"msu": ["Moscow State University"], "moscow": ["Moscow"]})
    assert a == b


def test_mention_spans_assad_counted_once(seed: Article) -> None:
    result = mention_spans(seed, {"assad": ["Bashar al-Assad", "Assad", "Mr. Assad"]})
    texts = [s.text for s in result["assad"]]
    assert texts == ["Bashar al-Assad", "Bashar al-Assad", "Mr. Assad"]
    # without overlap resolution, "Assad" alone occurs three times
    assert len(seed.mentions("Assad")) == 3
    for span in result["assad"]:
        assert_slices(seed, span)


def test_mention_spans_no_overlaps_and_empty_owner(seed: Article) -> None:
    result = mention_spans(
        seed,
        {
            "khamenei": ["Ali Khamenei", "Ayatollah Ali Khamenei", "Khamenei"],
            "russia": ["Russia", "Russian Federation"],
            "title": ["Honored Scientist of the Russian Federation"],
            "nobody": ["Lenin"],
        },
    )
    assert result["nobody"] == []
    spans = sorted((s for spans in result.values() for s in spans), key=lambda s: s.start)
    for prev, nxt in itertools.pairwise(spans):
        assert prev.end <= nxt.start
    assert [s.text for s in result["title"]] == ["Honored Scientist of the Russian Federation"]
    assert "Russian Federation" not in [s.text for s in result["russia"]]
    assert result["khamenei"][1].text == "Ayatollah Ali Khamenei"


def test_mention_spans_shared_alias_independent_of_owner_order(seed: Article) -> None:
    ali = ["Ali Khamenei", "Ayatollah Ali Khamenei", "Khamenei"]
    mojtaba = ["Mojtaba Khamenei", "Mojtaba", "Khamenei"]
    forward = mention_spans(seed, {"ali": ali, "mojtaba": mojtaba})
    backward = mention_spans(seed, {"mojtaba": mojtaba, "ali": ali})
    assert forward == backward
    # every contested "Khamenei" goes to exactly one owner
    ali_starts = {s.start for s in forward["ali"]}
    mojtaba_starts = {s.start for s in forward["mojtaba"]}
    assert not ali_starts & mojtaba_starts
    assert len(ali_starts) + len(mojtaba_starts) == len(seed.mentions("Khamenei")) + 1  # + "Mojtaba"


def test_mention_spans_canonical_name_beats_alias(seed: Article) -> None:
    # "Putin" is one owner's canonical name and the other's alias: the canonical owner wins
    names = {"alias": ["Vladimir Putin", "Putin"], "canon": ["Putin"]}
    for order in (names, dict(reversed(names.items()))):
        result = mention_spans(seed, order)
        assert [s.text for s in result["canon"]] == ["Putin", "Putin"]  # "Mr. Putin", "admires Putin"
        assert [s.text for s in result["alias"]] == ["Vladimir Putin"]


# --------------------------------------------------------------------------- closest_passage


def test_closest_passage_near_miss_returns_article_sentence(seed: Article) -> None:
    hint = seed.closest_passage("Mr. Yanukovych fled to escape charges of mass murder in his homeland.")
    assert hint == "Mr. Yanukovich fled to escape charges of mass murder in his homeland."


def test_closest_passage_changed_word_with_curly_quotes(seed: Article) -> None:
    hint = seed.closest_passage('"He is learning Russian and brushing up on his ophthalmology again.')
    assert hint == "He is studying Russian and brushing up on his ophthalmology again."


@pytest.mark.parametrize("garbage", ["zzzzqqqqxxxxjjjjwwww", "xq", "", "   ", "0123456789 qwertyuiop"])
def test_closest_passage_garbage_is_none(seed: Article, garbage: str) -> None:
    assert not seed.closest_passage(garbage)


# --------------------------------------------------------------------------- scripts without spaces


def test_names_in_unspaced_chinese_text_are_found_with_exact_offsets() -> None:
    # Chinese writes no spaces between words: a name is found inside a run of characters.
    text = "国家主席习近平在北京会见了俄罗斯总统普京。普京表示，俄方愿意加强合作。"
    article = Article(text)
    for name, count in (("习近平", 1), ("普京", 2), ("北京", 1), ("俄罗斯", 1)):
        spans = article.mentions(name)
        assert len(spans) == count, name
        for span in spans:
            assert_slices(article, span)
            assert span.text == name
    span = assert_slices(article, article.locate("习近平在北京会见了俄罗斯总统普京"))
    assert span.start == text.index("习近平")


def test_names_in_thai_and_japanese_text_are_found() -> None:
    thai = Article("นายกรัฐมนตรีเศรษฐาเดินทางไปเชียงใหม่")
    assert [s.text for s in thai.mentions("เศรษฐา")] == ["เศรษฐา"]
    japanese = Article("岸田首相は東京で記者会見を開いた。")
    (span,) = japanese.mentions("東京")
    assert_slices(japanese, span)


def test_latin_names_next_to_unspaced_text_keep_their_boundaries() -> None:
    article = Article("Putinism 与 Putin 会面。")
    assert [s.start for s in article.mentions("Putin")] == [11]


# --------------------------------------------------------------------------- numbers and word boundaries


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("assets valued at about $95 billion, according to", "assets valued at about $95."),
        ("assets valued at about $95 billion, according to", "valued at about $95"),
        ("the magnitude was 5.7 on the scale", "the magnitude was 5."),
        ("the magnitude was 5.7 on the scale", "the magnitude was 5"),
        ("more than 200,000 civilians", "more than 200"),
        ("touched down at 4:17 p.m.", "touched down at 4"),
        ("an 85% chance", "an 85"),
        ("a 14-year civil war", "a 14"),
        ("after 21 hours", "after 21"),
        ("he said 1995 was", "said 995 was"),
        ("the president said", "presiden"),
        ("the president said", "resident said"),
    ],
)
def test_a_match_never_stops_inside_a_number_or_a_word(text: str, quote: str) -> None:
    assert Article(text).locate(quote) is None


def test_a_number_may_stop_before_its_unit_where_the_quote_marks_an_omission() -> None:
    article = Article("including 4 to 7 major hurricanes (category 3, 4 or 5)")
    evidence = article.locate("including 4 to 7 ... hurricanes")
    assert evidence is not None
    assert [f.text for f in evidence.fragments] == ["including 4 to 7", "hurricanes"]
    assert article.locate("including 4 to 7 ... hurricanes (category 3, 4 or 5)") is not None


def test_an_ellipsis_hiding_a_negation_is_refused_and_says_why() -> None:
    article = Article("Russia was not ready to grant asylum to him.")
    grounding = article.ground("Russia was ... ready to grant asylum to him.")
    assert grounding.evidence is None
    assert "negation" in grounding.refusal


# --------------------------------------------------------------------------- hints


def test_hints_are_whole_words_of_the_article(seed: Article, seed_text: str) -> None:
    misses = [
        "Mr. Assad, driven from power in Decmber 2024, is living in luxury",
        "refreshing his trainng from earlier life as an eye docter",
        "Russia was not ready to grant asylum to Mr. Maduro",
        "the Iranian leader has prepared a backup plan to escape to Russia with 20 relatives",
    ]
    for quote in misses:
        hint = seed.closest_passage(quote)
        assert hint is not None, quote
        start = seed_text.index(hint)
        assert start == 0 or not seed_text[start - 1].isalnum(), hint
        end = start + len(hint)
        assert end == len(seed_text) or not seed_text[end].isalnum(), hint
    assert seed.closest_passage("Russia was not ready to grant asylum to Mr. Maduro") == (
        "Russia was ready to grant asylum to Mr. Maduro"
    )


@pytest.mark.parametrize(
    "fabricated",
    [
        "The president announced a new tax on imported steel today",
        "Officials confirmed the mansion was seized by the state",
        "Khamenei has already arrived in Moscow with his family",
    ],
)
def test_no_hint_for_a_fabricated_quote(seed: Article, fabricated: str) -> None:
    assert seed.closest_passage(fabricated) is None


def test_spans_built_by_grounding_behave_as_validated_ones() -> None:
    # Grounding builds its spans without validation and with one fields set shared per class:
    # pydantic must still see them as a validated span with every field given.
    from summarizer.schema import Evidence

    article = Article("Moscow said on Monday that it would not comment. Moscow... later said more.")
    mention, other = article.mentions("Moscow")
    plain = article.locate("it would not comment")
    edited = article.locate("Moscow said ... it would not comment")
    assert plain is not None and edited is not None and edited.fragments
    validated_span = Span(text=mention.text, start=mention.start, end=mention.end)
    validated_evidence = Evidence.model_validate(edited.model_dump())
    for built, validated in [(mention, validated_span), (edited, validated_evidence)]:
        assert built == validated
        assert built.model_fields_set == validated.model_fields_set == set(type(built).model_fields)
        assert built.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
        assert built.model_dump_json() == validated.model_dump_json()
    # A copy with a change is a model of its own; the spans it was copied from keep their fields set.
    moved = mention.model_copy(update={"start": 1})
    assert moved.start == 1 and mention.start == 0 and other.start > 0
    assert mention.model_fields_set == other.model_fields_set == {"text", "start", "end"}
    assert plain.model_fields_set == {"text", "start", "end", "fragments"}
    with pytest.raises(Exception, match="frozen"):
        mention.start = 2  # type: ignore[misc]
