"""Chinese text reaches the English embedder as its dictionary gloss; BM25 and quotes keep it as written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.config import EmbeddingSettings
from bot.kb.base import KBUnavailableError, PreparesSearch
from bot.kb.breaker import BreakerKB
from bot.kb.crosslingual import ChineseEnglishDictionary
from bot.kb.glossing import GLOSS_MARK, GlossingEmbedder
from bot.kb.reload import embedder_id, same_embedder
from bot.services import glossed
from bot.train.retrieval_pairs import Pair, read_as
from tests.fakes import FakeEmbedder
from tests.kb.conftest import KBFactory

# A Chinese help-center page: 包裹 / 丢 / 快递 / 退款 are in the test dictionary, the rest is not.
CHINESE_MD = """\
# 包裹丢了怎么办

如果您的包裹丢了，请在七天内提交索赔，我们会为您退款。快递员会联系您。

# 快递柜

快递柜的门打不开时，请按绿色按钮，然后重新扫描取件码。快递柜全天开放。
"""


def test_chinese_runs_become_english_words_and_the_rest_stays(dictionary: ChineseEnglishDictionary) -> None:
    assert dictionary.gloss("包裹丢了") == "wrap lose"
    # Each word's first sense (the embedder reads a meaning, no knowledge base picks); commands stay.
    assert dictionary.gloss("Run apt-get update 忘记密码 ok") == "Run apt-get update forget secret code ok"
    # After 的 a word is a thing (a bundle, not "to wrap up").
    assert dictionary.gloss("我的包裹丢了怎么办？") == "bundle lose"
    assert dictionary.gloss("忘記密碼了") == "forget secret code", "Traditional is looked up in Simplified"


def test_text_the_dictionary_does_not_cover_is_left_as_written(
    dictionary: ChineseEnglishDictionary, tmp_path: Path
) -> None:
    english = "How do I reset my password?\nPress the button."
    assert dictionary.gloss(english) is english
    # Japanese: kanji words are not Chinese words.
    assert dictionary.gloss("パスワードを忘れた包裹") == "パスワードを忘れた包裹"
    missing = ChineseEnglishDictionary(tmp_path / "absent.txt")
    assert missing.gloss("包裹丢了") == "包裹丢了"


def test_the_embedder_reads_the_gloss_on_both_sides(dictionary: ChineseEnglishDictionary) -> None:
    inner = FakeEmbedder(query_prefix="q: ", passage_prefix="p: ")
    embedder = GlossingEmbedder(inner, dictionary)
    embedder.embed_queries(["包裹丢了", "lost parcel"])
    embedder.embed_passages(["# 包裹丢了\n快递"])
    assert inner.queries == ["q: wrap lose", "q: lost parcel"]
    assert inner.passages == ["p: # wrap lose\nexpress delivery"]
    # The chunker sizes chunks as written, in the inner model's tokens.
    assert embedder.count_tokens("包裹丢了 now") == inner.count_tokens("包裹丢了 now")
    assert (embedder.dim, embedder.max_tokens) == (inner.dim, inner.max_tokens)
    embedder.close()
    assert inner.closed


def test_the_gloss_is_part_of_the_vector_space(dictionary: ChineseEnglishDictionary) -> None:
    plain = embedder_id(FakeEmbedder())
    with_gloss = embedder_id(GlossingEmbedder(FakeEmbedder(), dictionary))
    assert with_gloss == f"{plain}{GLOSS_MARK}zh>en:cc-cedict"
    assert not same_embedder(plain, with_gloss)
    assert not same_embedder(with_gloss, plain)
    # Without Chinese the vectors are the same either way; another model is still another space.
    assert same_embedder(plain, with_gloss, holds_chinese=False)
    assert same_embedder(with_gloss, plain, holds_chinese=False)
    assert not same_embedder(
        "LlamaEmbedder:384:a.gguf", f"LlamaEmbedder:384:b.gguf{GLOSS_MARK}x", holds_chinese=False
    )


async def test_an_english_index_keeps_serving_when_the_gloss_is_turned_on(
    kb_factory: KBFactory, corpus: Path, dictionary: ChineseEnglishDictionary
) -> None:
    """Upgrading to the version that glosses Chinese must not take an English help center down."""
    await kb_factory(FakeEmbedder()).reload(corpus)
    assert await kb_factory(GlossingEmbedder(FakeEmbedder(), dictionary)).search("delivery", k=3)


async def test_a_chinese_index_is_glossed_at_reload_and_searched_glossed(
    kb_factory: KBFactory, tmp_path: Path, dictionary: ChineseEnglishDictionary
) -> None:
    folder = tmp_path / "zh"
    folder.mkdir()
    (folder / "help.md").write_text(CHINESE_MD, encoding="utf-8")
    await kb_factory(FakeEmbedder()).reload(folder)
    inner = FakeEmbedder()
    kb = kb_factory(GlossingEmbedder(inner, dictionary))
    # The setting to set back is named: the two spaces differ by nothing else.
    with pytest.raises(
        KBUnavailableError,
        match=r"built with the Chinese gloss off and BOT_EMBEDDINGS__GLOSS_CHINESE now turns it on "
        r"\(or set it back\): run `python -m bot kb reload`",
    ):
        await kb.search("包裹丢了", k=3)
    await kb.reload(folder)
    assert inner.passages
    assert not any("包裹" in text for text in inner.passages), "passages reach the model glossed"
    assert any("wrap" in text for text in inner.passages)
    hits = await kb.search("包裹丢了怎么办", k=3, mode="dense")
    assert hits[0].chunk.text.startswith("如果您的包裹丢了"), "what is quoted is the text as written"
    assert "wrap lose" in inner.queries


def test_auto_glosses_for_the_shipped_embedder_only(tmp_path: Path) -> None:
    inner = FakeEmbedder()
    assert isinstance(glossed(inner, EmbeddingSettings()), GlossingEmbedder)
    own = EmbeddingSettings(model_path=tmp_path / "multilingual-e5.gguf")
    assert glossed(inner, own) is inner, "an embedder of one's own is trusted to read Chinese"
    assert isinstance(glossed(inner, own.model_copy(update={"gloss_chinese": "on"})), GlossingEmbedder)
    assert glossed(inner, EmbeddingSettings(gloss_chinese="off")) is inner


def test_naming_the_shipped_file_keeps_the_gloss(tmp_path: Path) -> None:
    """`health` and the fine-tune's scoring name the resolved file; that makes it no embedder of one's own."""
    shipped = EmbeddingSettings().with_model(tmp_path / "all-MiniLM-L6-v2.f16.gguf")
    assert shipped.model_path == tmp_path / "all-MiniLM-L6-v2.f16.gguf"
    assert shipped.glosses_chinese()
    own = EmbeddingSettings(model_path=tmp_path / "e5.gguf").with_model(tmp_path / "e5-copy.gguf")
    assert not own.glosses_chinese()


def test_embedder_training_reads_what_the_served_embedder_reads(dictionary: ChineseEnglishDictionary) -> None:
    pair = Pair("包裹丢了", "# 快递\n包裹丢了", None, "heading", ("help.md", ("快递",)))
    (out,) = read_as([pair], dictionary.gloss)
    assert (out.query, out.positive, out.negative) == ("wrap lose", "# express delivery\nwrap lose", None)
    assert out.section == pair.section


def test_a_characters_main_reading_comes_first(tmp_path: Path) -> None:
    """后 is "empress" in one entry and "back / after / later …" in the entry of 後: the gloss read every 以后
    ("afterwards") in a help center as "empress". The reading with the most senses is the main one."""
    path = tmp_path / "cedict.txt"
    path.write_text(
        "后 后 [hou4] /empress/queen/surname Hou/\n"
        "後 后 [hou4] /back/behind/rear/afterwards/after/later/post-/\n"
        "打 打 [da2] /dozen (loanword)/\n"
        "打 打 [da3] /to beat/to strike/to hit/to break/\n",
        encoding="utf-8",
    )
    dictionary = ChineseEnglishDictionary(path)
    assert dictionary.gloss("后") == "back"
    assert dictionary.gloss("打") == "beat"
    assert dictionary.translate("后", "zh", "en", ("queen", "later")).split() == ["later", "queen"]


class SlowFirstGlosser:
    """A glosser whose first Chinese text takes `seconds` (a dictionary read on a busy machine)."""

    gloss_name = "slow-first"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.read = False

    def ready(self, text: str) -> bool:
        return self.read or not any("\u4e00" <= ch <= "\u9fff" for ch in text)

    def gloss(self, text: str) -> str:
        if not self.ready(text):
            time.sleep(self.seconds)
            self.read = True
        return text


async def test_the_first_chinese_question_reads_the_dictionary_outside_the_search_deadline(
    kb_factory: KBFactory, corpus: Path
) -> None:
    """A Korean help center's first Chinese question was "I can't look that up right now": the dictionary,
    read on that question only (the help center holds no Chinese), counted in the search's 3 s."""
    glosser = SlowFirstGlosser(seconds=1.5)
    kb = kb_factory(GlossingEmbedder(FakeEmbedder(), glosser))
    await kb.reload(corpus)
    assert not glosser.read, "an English help center's reload reads no dictionary"
    guarded = BreakerKB(kb, timeout_s=1.0)
    assert isinstance(kb, PreparesSearch)
    assert await guarded.search("包裹 delivery", k=3)
    assert glosser.read
    assert guarded.state == "closed"
    assert guarded.consecutive_failures == 0
