"""CJK text indexed as written: a document's language by what it says, chunks cut at CJK sentence ends, and
Japanese questions searched without their particles."""

from __future__ import annotations

import re
from pathlib import Path

from bot.domain import Chunk
from bot.kb.analysis import korean_query, korean_stem, query_terms, query_words
from bot.kb.chunking import Chunker, ChunkingConfig
from bot.kb.loaders import Section
from bot.kb.reload import build_corpus, document_language
from tests.fakes import FakeEmbedder
from tests.kb.conftest import KBFactory, make_settings

_HIRAGANA_ONLY = re.compile(r"[\u3041-\u309f]+")


def _chunks(texts: list[str]) -> list[Chunk]:
    return [
        Chunk(
            id=f"ch09.ja.html#{i}",
            source="ch09.ja.html",
            heading="9.1",
            heading_path=("9.1",),
            position=i,
            text=text,
            content_hash=str(i),
        )
        for i, text in enumerate(texts)
    ]


JAPANESE = (
    "ロケール以上に時間や日付の表示形式を変更したいなら、環境変数を使って時間の表示形式を設定します。"
    "設定は利用者ごとに保存され、次回のログインから有効になります。"
    "詳しくは説明書を参照して下さい。"
)
ENGLISH = (
    "Tip: The sbuild package helps to construct a chroot system and builds a package inside the chroot "
    'with "sbuild -d unstable foo.dsc". It can also check the result with "lintian --info foo.changes" '
    "and upload it with dput after the build has finished without errors on every architecture."
)


def test_a_japanese_document_with_commands_and_english_notes_is_japanese() -> None:
    # Five Japanese chunks and three of English notes, as in the Japanese Debian Reference's chapter 9: the
    # English ones are the longer in characters, not in what they say.
    pieces = _chunks([JAPANESE, ENGLISH, JAPANESE, ENGLISH, JAPANESE, JAPANESE, ENGLISH, JAPANESE])
    assert sum(len(p.text) for p in pieces if p.text == ENGLISH) > sum(
        len(p.text) for p in pieces if p.text == JAPANESE
    )
    assert {chunk.lang for chunk in document_language(pieces)} == {"ja"}


def test_an_english_document_with_a_few_cjk_names_stays_english() -> None:
    named = ENGLISH.replace("every architecture", "the 東京 mirror run by 山田太郎 and 中野")
    pieces = _chunks([named, ENGLISH, named, ENGLISH, named, ENGLISH, named, ENGLISH])
    assert {chunk.lang for chunk in document_language(pieces)} == {"en"}
    # Nor does one Japanese chunk among seven English ones make it Japanese.
    pieces = _chunks([ENGLISH, ENGLISH, JAPANESE, ENGLISH, ENGLISH, ENGLISH, ENGLISH, ENGLISH])
    assert {chunk.lang for chunk in document_language(pieces)} == {"en"}


async def test_the_translated_sections_of_a_mostly_english_chapter_are_labelled_with_their_language(
    tmp_path: Path,
) -> None:
    # A partly translated chapter (the Japanese Debian Reference's chapter 7): more English than Japanese,
    # so English, yet its Japanese passages are quoted for Japanese questions as Japanese.
    folder = tmp_path / "knowledge"
    folder.mkdir()
    english = [f"## Note {i}\n\n{ENGLISH}\n" for i in range(5)]
    japanese = [f"## 設定 {i}\n\n{JAPANESE}\n" for i in range(2)]
    (folder / "ch07.md").write_text("\n".join([*english[:3], *japanese, *english[3:]]), encoding="utf-8")
    # A Chinese document's untranslated note keeps the document's language: it is one of its sections.
    chinese = "## 设置\n\n使用 apt-get 命令安装软件包，例如 apt-get install vim，然后重新启动服务。\n"
    (folder / "zh.md").write_text(chinese * 6 + f"## Note\n\n{ENGLISH}\n", encoding="utf-8")
    corpus = await build_corpus(folder, make_settings(tmp_path).kb, FakeEmbedder())
    labels = {(chunk.source, chunk.heading.split()[0]): chunk.lang for chunk in corpus.chunks}
    assert labels == {
        ("ch07.md", "Note"): "en",
        ("ch07.md", "設定"): "ja",
        ("zh.md", "设置"): "zh",
        ("zh.md", "Note"): "zh",
    }


async def test_the_russian_sections_of_a_mostly_english_chapter_are_labelled_russian(tmp_path: Path) -> None:
    # Two chapters of the Russian Debian FAQ, more English (commands, untranslated notes) than Russian, were
    # English as a whole: their Russian sections were searched without Russian stemming.
    folder = tmp_path / "knowledge"
    folder.mkdir()
    english = [f"## Note {i}\n\n{ENGLISH}\n" for i in range(5)]
    russian = "Чтобы удалить старое ядро, выполните команду apt purge и перезагрузите компьютер после этого."
    sections = [f"## Ядро {i}\n\n{russian}\n" for i in range(2)]
    (folder / "kernel.md").write_text("\n".join([*english[:3], *sections, *english[3:]]), encoding="utf-8")
    # A Russian document's English note keeps the document's language, as a Chinese one's does.
    (folder / "ru.md").write_text(f"## Ядро\n\n{russian}\n" * 6 + f"## Note\n\n{ENGLISH}\n", encoding="utf-8")
    corpus = await build_corpus(folder, make_settings(tmp_path).kb, FakeEmbedder())
    labels = {(chunk.source, chunk.heading.split()[0]): chunk.lang for chunk in corpus.chunks}
    assert labels == {
        ("kernel.md", "Note"): "en",
        ("kernel.md", "Ядро"): "ru",
        ("ru.md", "Ядро"): "ru",
        ("ru.md", "Note"): "ru",
    }


def _tokens(text: str) -> int:
    # As a BERT tokenizer counts them: each CJK character one token, Latin words and punctuation one each.
    return len(re.findall(r"[\u3040-\u30ff\u3400-\u9fff]|[^\W\u3040-\u30ff\u3400-\u9fff]+|[^\w\s]", text))


def _chunker() -> Chunker:
    return Chunker(ChunkingConfig(chunk_tokens=60, overlap_tokens=0, max_tokens=80), _tokens)


def test_cjk_text_is_cut_at_its_sentence_ends_without_spaces() -> None:
    sentences = [f"手順{i}では設定ファイルを編集してからサービスを再起動します。" for i in range(12)]
    sentences[3] = "「再起動が必要ですか？」"
    sentences[7] = "確認してください！"
    text = "".join(sentences)
    bodies = _chunker().split_section(Section("9.1", ("9.1",), text))
    assert len(bodies) > 3
    # Every chunk ends where a sentence does (a closing bracket stays with its sentence), and they join
    # back into the text as written: no space inserted between CJK sentences.
    assert all(body.endswith(("。", "」", "！")) for body in bodies)
    assert "".join(bodies) == text


def test_an_over_long_cjk_sentence_is_cut_at_its_commas_before_any_character_budget() -> None:
    clauses = [f"項目{i}の設定ファイルを開き" for i in range(12)]
    text = "、".join(clauses) + "、最後に再起動します。"
    bodies = _chunker().split_section(Section("9.1", ("9.1",), text))
    assert len(bodies) > 1
    assert all(body.endswith(("、", "。")) for body in bodies)
    assert "".join(bodies) == text


def test_latin_text_is_still_cut_at_spaced_sentence_ends() -> None:
    text = " ".join(f"Step {i} edits the configuration file and restarts the service." for i in range(20))
    bodies = _chunker().split_section(Section("Steps", ("Steps",), text))
    assert len(bodies) > 3
    assert all(body.endswith(".") for body in bodies)
    assert " ".join(bodies) == text


QUESTION = "どうして sudo でコマンドを実行しても動かないんですか"


def test_a_japanese_question_is_searched_without_its_hiragana_pairs() -> None:
    terms = query_terms(QUESTION, ("ja", "en"))
    assert not [term for term in terms if _HIRAGANA_ONLY.fullmatch(term)], terms
    # Its content stays: the command, kanji and katakana pairs, and pairs of kanji with their kana.
    assert {"sudo", "実行", "コマ", "動か"} <= set(terms)
    assert not [word for word in query_words(QUESTION, ("ja", "en")) if _HIRAGANA_ONLY.fullmatch(word)]


def test_hiragana_pairs_stay_where_nothing_else_is_left_or_the_question_is_not_japanese() -> None:
    # A question of hiragana alone keeps them: otherwise it would search nothing.
    assert query_terms("どうすればいいの", ("ja", "en")) == query_terms("どうすればいいの", ("en", "ja"))
    assert "どう" in query_terms("どうすればいいの", ("ja", "en"))
    # Only a Japanese question's own analysis leaves them out (a question read as English keeps them).
    assert "どう" in query_terms(QUESTION, ("en", "ja"))


def test_a_korean_question_is_searched_by_its_words_stems() -> None:
    # "배송비 얼마에요" (how much is delivery?) matched "에요" of "1년이에요" and was refused (a trial).
    assert query_words("배송비 얼마에요", ("ko", "en")) == ["배송", "송비", "얼마"]
    assert query_words("이미 결제했는데 우유 하나 추가하고 싶어요", ("ko",)) == [
        "이미", "결제", "우유", "하나", "추가",
    ]  # fmt: skip
    # A one-syllable particle leaves a stem of two at least: 필요 and 추가 are words, not 필 + 요.
    assert "필요" in query_words("필요 서류", ("ko",))
    assert "추가" in query_words("추가", ("ko",))
    # An ending alone is searched as written rather than not at all; a question read as English keeps all.
    assert query_words("해요", ("ko",)) == ["해요"]
    assert "에요" in query_words("배송비 얼마에요", ("en", "ko"))


def test_korean_stems_are_the_same_for_search_and_for_follow_ups() -> None:
    # Condense counted a question's topic words with endings of its own: "가능한가요" was no topic there, and
    # 가능한 + 가요 here.
    assert korean_stem("가능한가요") == ""
    assert korean_stem("신고해야") == "신고"
    assert korean_stem("할") == ""
    assert korean_query("환불 가능한가요") == "환불 "


async def test_a_korean_questions_endings_find_no_section_by_their_own(
    kb_factory: KBFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "delivery.md").write_text(
        "# 새벽배송\n\n## 배송비\n\n4만원 이상 주문하면 배송비는 무료입니다. 그 외에는 3,000원입니다.\n\n"
        "## 적립금\n\n적립금의 유효기간은 적립일로부터 1년이에요. 기간이 지나면 사라져요.\n",
        encoding="utf-8",
    )
    kb = kb_factory(FakeEmbedder())
    await kb.reload(folder)
    hits = await kb.search("배송비 얼마에요", k=2, mode="bm25")
    assert hits[0].chunk.heading == "배송비"
    assert hits[0].score > 2 * hits[1].score, "the other section shares the title's 배송 only"
