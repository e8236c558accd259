"""The vocabulary bridge: a query word the knowledge base never uses is searched as its nearest word too."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import string
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bot.domain import Chunk
from bot.kb import vocabulary
from bot.kb.calibration import Calibration, LanguageFit, with_vocabulary
from bot.kb.elastic import ElasticKB, bm25_query
from bot.kb.embedded import EmbeddedKB
from bot.kb.vocabulary import (
    EMBED_BATCH,
    MAX_BRIDGED,
    BridgeStoppedError,
    VocabularyBridge,
    build_vocabulary_bridge,
    corrected,
    spelled,
    vocabulary_bridge,
    vocabulary_words,
)
from tests.fakes import FakeEmbedder, make_chunk
from tests.kb.conftest import KBFactory, make_settings
from tests.kb.fake_es import FakeElasticsearch


def chunk(source: str, heading: str, text: str, lang: str = "en") -> Chunk:
    return replace(make_chunk(source, heading, text), lang=lang)


class SynonymEmbedder(FakeEmbedder):
    """The hashed bag of words, but each word of `synonyms` is embedded as the word it stands for: the two
    are as close as an embedder can make them, and every other pair stays apart."""

    def __init__(self, synonyms: Mapping[str, str]) -> None:
        super().__init__(dim=4096)
        self.synonyms = dict(synonyms)
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.embedded.extend(texts)
        return super().embed([" ".join(self.synonyms.get(w, w) for w in t.lower().split()) for t in texts])


class BrokenEmbedder(FakeEmbedder):
    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise RuntimeError("embedder crashed")


def test_the_vocabulary_is_the_knowledge_bases_words_most_frequent_first() -> None:
    chunks = [
        chunk("a.md", "Damaged parcels", "A damaged parcel is covered. Damage to 2 parcels: file a claim."),
        chunk("b.md", "Pickup", "Pick up the parcel at the parcel locker with code PX-301."),
        chunk("c.md", "包裹", "包裹丢了怎么办", "zh"),
        chunk("d.md", "Colis", "Le colis est livré au casier.", "fr"),
    ]
    words = vocabulary_words(chunks, ["en", "zh"])
    # One surface form per index term, its most frequent one ("parcel" over "parcels"), stop words, numbers,
    # codes and two-letter words out; Chinese is left out (its terms are bigrams), and a language not asked.
    assert set(words) == {"en"}
    en = words["en"]
    assert en[0] == "parcel"
    assert {"damaged", "covered", "claim", "locker", "pickup", "pick"} <= set(en)
    assert not {"the", "is", "to", "up", "px", "301", "2", "parcels"} & set(en)
    assert len(en) == len({w for w in en})


def test_the_vocabulary_is_capped_at_the_most_frequent_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vocabulary, "MAX_WORDS", 2)
    chunks = [chunk("a.md", "Lockers", "locker locker locker parcel parcel claim")]
    assert vocabulary_words(chunks, ["en"]) == {"en": ("locker", "parcel")}


def test_only_languages_the_embedder_is_as_strong_in_as_english_are_bridged() -> None:
    chunks = [
        chunk("a.md", "Parcels", "parcel locker"),
        chunk("b.md", "Colis", "colis casier", "fr"),
    ]
    fits = (
        LanguageFit("en", 12, 0.5, 0.6, 0.7, gate=False),
        LanguageFit("fr", 12, 0.4, 0.6, 0.53, gate=False),
    )
    calibration = with_vocabulary(Calibration(languages=fits), chunks)
    # Every language's words are kept for typing slips; only English's are bridged by meaning.
    assert set(calibration.vocabulary) == {"en", "fr"}
    assert calibration.bridge_vocabulary() == {"en": calibration.vocabulary["en"]}
    # Stored with the gate and read back, and shown in `kb stats`.
    assert Calibration.from_json(calibration.to_json()) == calibration
    assert "en 2, fr 2 words" in calibration.describe()["vocabulary"]
    assert "in en a question word" in calibration.describe()["vocabulary"]
    # A calibration stored before the bridge existed has no vocabulary, and no stats line; one stored before
    # the bridged languages were kept bridges all of its words (only the trusted ones had any).
    assert Calibration.from_json(Calibration().to_json()).vocabulary == {}
    assert "vocabulary" not in Calibration().describe()
    older = json.loads(calibration.to_json())
    del older["bridged"]
    assert Calibration.from_json(json.dumps(older)).bridge_vocabulary() == dict(calibration.vocabulary)


def test_a_slip_is_read_as_the_word_in_a_language_the_embedder_is_weak_in() -> None:
    # A Turkish trial's "gelmiyo" (gelmiyor, chat's dropped "r") had no vocabulary to be read against: the
    # embedder's Turkish got dense weight 0.47, and words were kept only where it had the full weight.
    chunks = [chunk("a.md", "Kargo", "Kargonuz gelmiyor mu? Takip numarasını kontrol edin.", "tr")]
    calibration = with_vocabulary(
        Calibration(languages=(LanguageFit("tr", 12, 0.4, 0.6, 0.47, gate=False),)), chunks
    )
    assert calibration.bridge_vocabulary() == {}
    assert corrected("kargom gelmiyo", calibration.vocabulary, "tr") == "kargom gelmiyor"
    # In capitals: the combining dot str.lower gives "İ" goes with the accents Turkish is compared without.
    assert corrected("kargom GELMİYO", calibration.vocabulary, "tr") == "kargom gelmiyor"


def test_a_word_the_knowledge_base_never_uses_is_bridged_to_its_nearest_word() -> None:
    embedder = SynonymEmbedder({"smashed": "damaged"})
    bridge = VocabularyBridge({"en": ("damaged", "parcel", "locker")}, embedder)
    assert bridge.size == 3
    # "smashed" is not in the vocabulary and embeds as "damaged"; "parcel" is (so is "parcels", one term);
    # "unicorn" is near no word of it.
    assert bridge.bridge_words("My parcels arrived smashed, unicorn!", ["en"]) == ["damaged"]
    embedder.embedded.clear()
    # Known words only: nothing to embed, nothing bridged.
    assert bridge.bridge_words("damaged parcel", ["en"]) == []
    assert embedder.embedded == []
    # A word in another script than the vocabulary's has no neighbour in it.
    assert bridge.bridge_words("smashed مرحبا", ["en"]) == ["damaged"]
    assert embedder.embedded == ["smashed"]
    # The first language with a vocabulary answers; a language without one bridges nothing.
    assert bridge.bridge_words("smashed", ["fr", "en"]) == ["damaged"]
    assert bridge.bridge_words("smashed", ["fr"]) == []
    # A question in a language of the knowledge base that has no vocabulary (the embedder is weak in it) is
    # not read as English: its words would be "bridged" to unrelated English ones.
    embedder.embedded.clear()
    assert bridge.bridge_words("smashed", ["fr", "en"], written_in=["en", "fr"]) == []
    assert embedder.embedded == []
    # A question in a language the knowledge base is not written in is still read in the index's.
    assert bridge.bridge_words("smashed", ["fr", "en"], written_in=["en"]) == ["damaged"]


def test_a_run_together_word_is_searched_as_the_two_words_the_knowledge_base_writes() -> None:
    embedder = SynonymEmbedder({})
    bridge = VocabularyBridge({"en": ("power", "banks", "mail", "box", "lithium")}, embedder)
    embedder.embedded.clear()
    # "powerbank" where the help center says "power banks": both words, in their surface forms, and the
    # run-together word is not embedded (its nearest word would be a loose neighbour at best).
    assert bridge.bridge_words("a powerbank with lithium?", ["en"]) == ["power", "banks"]
    assert embedder.embedded == []
    # The cut whose shorter part is longest; a word of which one part is unknown is embedded as before.
    assert bridge.bridge_words("mailbox", ["en"]) == ["mail", "box"]
    assert bridge.bridge_words("powerplant", ["en"]) == []
    assert embedder.embedded == ["powerplant"]


def test_a_typing_slip_of_a_knowledge_base_word_is_searched_as_that_word() -> None:
    # "forgot pasword" found nothing in BM25, and the typo's embedding was too far from "password".
    embedder = SynonymEmbedder({})
    words = ("password", "parcels", "arriving", "received", "passport", "forgot", "never")
    bridge = VocabularyBridge({"en": words}, embedder)
    embedder.embedded.clear()
    assert bridge.bridge_words("forgot pasword", ["en"]) == ["password"]  # a letter left out
    assert bridge.bridge_words("parcel not ariving", ["en"]) == ["arriving"]
    assert bridge.bridge_words("never recieved it", ["en"]) == ["received"]  # two letters swapped
    assert bridge.bridge_words("my passwordd", ["en"]) == ["password"]  # a letter too many
    assert embedder.embedded == []
    # A short word is no slip of a longer one; a word two slips away is embedded as before.
    assert bridge.bridge_words("pass", ["en"]) == []
    assert bridge.bridge_words("paswrd", ["en"]) == []
    assert embedder.embedded == ["pass", "paswrd"]


def test_a_question_is_searched_with_its_typing_slips_corrected() -> None:
    # Its embedding too: "forgot pasword" found the password section first once BM25 searched "password",
    # but the typo's embedding kept the gate's cosine low and it was refused.
    words = {"en": ("refunds", "password", "simple", "forgot", "parcels")}
    assert corrected("Forgot pasword?", words, "en") == "Forgot password?"
    assert corrected("how long does a refnd take", words, "en") == "how long does a refunds take"
    assert corrected("forgot pasword", words, "und") == "forgot password"  # no known language: English
    # A word the knowledge base uses, an inflection of one ("simplest" less a letter is "simples", whose stem
    # is "simple"'s), a stop word and another language's question stay as written.
    for text in ("my parcels", "the simplest way", "their", "mot de pasword"):
        assert corrected(text, words, "fr" if text.startswith("mot") else "en") == text, text


def test_a_long_question_embeds_a_bounded_number_of_words() -> None:
    embedder = SynonymEmbedder({})
    bridge = VocabularyBridge({"en": ("parcel",)}, embedder)
    embedder.embedded.clear()
    bridge.bridge_words(" ".join(f"word{chr(97 + i)}x" for i in range(26)), ["en"])
    assert len(embedder.embedded) == MAX_BRIDGED


def test_no_words_or_a_failing_embedder_give_no_bridge(caplog: pytest.LogCaptureFixture) -> None:
    assert vocabulary_bridge({}, FakeEmbedder(), "kb-1") is None
    assert vocabulary_bridge({"en": ()}, FakeEmbedder(), "kb-1") is None
    assert vocabulary_bridge({"en": ("parcel",)}, BrokenEmbedder(), "kb-1") is None
    assert "vocabulary bridge unavailable" in caplog.text


class ClosingEmbedder(FakeEmbedder):
    """Holds its first call until it is closed, then raises as the real one does once closed."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.released = threading.Event()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.started.set()
        self.released.wait(10)
        if self.closed:
            raise RuntimeError("the embedder is closed")
        return super().embed(texts)

    def close(self) -> None:
        self.closed = True
        self.released.set()


def many_words(count: int) -> tuple[str, ...]:
    return tuple(
        "".join(letters)
        for letters in itertools.islice(itertools.product(string.ascii_lowercase, repeat=4), count)
    )


async def test_a_bridge_cancelled_with_its_knowledge_base_stops_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A one-shot command (`ask`, `kb search`) closes the knowledge base, then the embedder, while the bridge
    # is still embedding in its thread: the closed embedder's error ends a bridge nobody wants any more.
    caplog.set_level(logging.DEBUG, logger="bot.kb")
    embedder = ClosingEmbedder()
    task = asyncio.create_task(build_vocabulary_bridge({"en": many_words(3 * EMBED_BATCH)}, embedder, "kb-1"))
    assert await asyncio.to_thread(embedder.started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    embedder.close()
    for _ in range(200):
        if "vocabulary bridge" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert "vocabulary bridge stopped" in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert embedder.calls == 0  # the held call raised, and no batch was started after it


def test_a_bridge_no_longer_wanted_stops_before_its_next_batch(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()

    class StoppingEmbedder(FakeEmbedder):
        def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
            stop.set()
            return super().embed(texts)

    embedder = StoppingEmbedder()
    with pytest.raises(BridgeStoppedError):
        VocabularyBridge({"en": many_words(3 * EMBED_BATCH)}, embedder, stop=stop)
    assert embedder.calls == 1
    assert (
        vocabulary_bridge({"en": many_words(3 * EMBED_BATCH)}, StoppingEmbedder(), "kb-1", stop=stop) is None
    )
    assert "vocabulary bridge" not in caplog.text


async def test_a_bridge_whose_embedder_fails_still_warns(caplog: pytest.LogCaptureFixture) -> None:
    assert await build_vocabulary_bridge({"en": ("parcel",)}, BrokenEmbedder(), "kb-1") is None
    assert "vocabulary bridge unavailable" in caplog.text
    assert [getattr(r, "error", "") for r in caplog.records] == ["RuntimeError: embedder crashed"]


def test_a_bridge_embedded_in_batches_is_the_bridge_embedded_at_once() -> None:
    words = {"en": many_words(2 * EMBED_BATCH + 5)}
    embedder = FakeEmbedder()
    bridge = VocabularyBridge(words, embedder)
    assert embedder.calls == 3
    whole = FakeEmbedder().embed(list(words["en"]))
    assert np.allclose(bridge.vectors()["en"], whole)


def test_elasticsearch_searches_the_bridged_words_with_the_question() -> None:
    query = bm25_query("arrived smashed", "en", ["damaged"])
    texts = {clause["multi_match"]["query"] for clause in query["bool"]["should"]}
    assert texts == {"arrived smashed damaged"}


async def test_search_finds_a_section_by_a_word_it_never_uses(kb_factory: KBFactory, corpus: Path) -> None:
    # The corpus says "maximum weight"; the customer asks about "heaviness". Lexical search alone finds
    # nothing for it; with the bridge, the word's nearest in the knowledge base ("weight") finds the section.
    plain = kb_factory(FakeEmbedder(dim=256))
    await plain.reload(corpus)
    assert await plain.search("heaviness", k=3, mode="bm25") == []
    bridged = kb_factory(SynonymEmbedder({"heaviness": "weight"}))
    await bridged.reload(corpus)
    hits = await bridged.search("heaviness", k=3, mode="bm25")
    assert hits
    assert hits[0].chunk.heading == "Parcel size limits"
    assert "vocabulary" in (await bridged.stats()).extra


async def test_an_embedded_index_stores_the_word_vectors_so_a_serving_process_does_not_embed_them(
    tmp_path: Path, corpus: Path
) -> None:
    settings = make_settings(tmp_path)
    builder = EmbeddedKB(settings.kb, settings.index_dir, SynonymEmbedder({"heaviness": "weight"}))
    await builder.reload(corpus)
    words = sum(len(w) for w in (await builder.calibration()).vocabulary.values())
    assert words > 10
    serving_embedder = SynonymEmbedder({"heaviness": "weight"})
    serving = EmbeddedKB(settings.kb, settings.index_dir, serving_embedder)
    try:
        hits = await serving.search("heaviness", k=3, mode="bm25")
        assert hits[0].chunk.heading == "Parcel size limits"
        # Only the question's unknown word was embedded, not the knowledge base's words.
        assert serving_embedder.embedded == ["heaviness"]
    finally:
        await builder.close()
        await serving.close()


def test_a_malformed_stored_vocabulary_is_dropped_and_the_gate_kept(caplog: pytest.LogCaptureFixture) -> None:
    fitted = Calibration(fitted=True, reason="", vocabulary={"en": ("parcel",)})
    for bad in (5, True, [1, 2], {"en": None}, {"en": "damaged"}, "abc", {"en": [None, 1]}):
        data = json.loads(fitted.to_json())
        data["vocabulary"] = bad
        read = Calibration.from_json(json.dumps(data))
        assert read.fitted, bad
        assert read.vocabulary == {}, bad
    assert "stored vocabulary unreadable" in caplog.text
    # Words that are not words (an empty string) are left out, and a vocabulary of none gives no bridge.
    data = json.loads(fitted.to_json())
    data["vocabulary"] = {"en": ["", "parcel", "x1"]}
    assert Calibration.from_json(json.dumps(data)).vocabulary == {"en": ("parcel",)}
    assert vocabulary_bridge({"en": ("",)}, FakeEmbedder(), "kb-1") is None


async def test_elasticsearch_serving_process_builds_the_bridge_in_the_background(
    fake_es: FakeElasticsearch, corpus: Path, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, elasticsearch={"url": fake_es.url, "alias": "kb"})
    builder = ElasticKB(settings.kb, settings.elasticsearch, SynonymEmbedder({"heaviness": "weight"}))
    serving = ElasticKB(settings.kb, settings.elasticsearch, SynonymEmbedder({"heaviness": "weight"}))
    try:
        await builder.reload(corpus)
        # The first search does not wait for the words to be embedded: it searches the question's own words.
        assert await serving.search("heaviness", k=3, mode="bm25") == []
        for _ in range(100):
            hits = await serving.search("heaviness", k=3, mode="bm25")
            if hits:
                break
            await asyncio.sleep(0.05)
        assert hits
        assert hits[0].chunk.heading == "Parcel size limits"
    finally:
        await builder.close()
        await serving.close()


async def test_a_word_the_index_holds_beyond_the_stored_vocabulary_is_not_corrected() -> None:
    # The stored words are the knowledge base's 20,000 most frequent: a rarer one it does use ("simplex",
    # a letter more than "simple") is the customer's word, not a slip.
    from bot.kb.calibration import Calibration
    from tests.fakes import FakeKB, make_chunk

    kb = FakeKB([make_chunk("modes.md", "Modes", "Half duplex and simplex links. A simple setup.")])
    kb.gate = Calibration(vocabulary={"en": ("simple", "setup", "password")})
    assert corrected("is simplex supported", kb.gate.vocabulary, "en") == "is simple supported"
    assert await spelled(kb, "is simplex supported", "en") == "is simplex supported"
    assert await spelled(kb, "forgot pasword", "en") == "forgot password"
    kb.gate = Calibration()
    assert await spelled(kb, "forgot pasword", "en") == "forgot pasword"


def test_a_run_too_long_for_a_word_is_no_slip_of_one() -> None:
    # A Thai, Lao or Khmer message is one run without spaces: its slip variants were quadratic in its length
    # (a 7,000-character message took 44 s and 2.9 GB). One letter too many, a word would be corrected.
    word = "ก" * vocabulary.MAX_SLIP_WORD
    assert vocabulary.slips(word + "ก", {"th": (word,), "und": (word,), "en": (word,)}, "en") == {}
    short = "ก" * 8
    assert vocabulary.slips(short + "ก", {"en": (short,)}, "en") == {short + "ก": short}
