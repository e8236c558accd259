"""The synthetic data builder for knowledge bases in other languages than English, and mixed ones."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from bot.chinese import to_traditional
from bot.kb.calibration import off_topic_questions
from bot.language import answer_language, detect_message_language
from bot.rag.prompting import load_templates
from bot.rag.refusal import is_refusal, opens_with_refusal
from bot.train.data import ChatSample, load_chat_jsonl
from bot.train.evaluate import citations, passage_numbers
from bot.train.synth import REFUSAL_ANSWER, Entry, _distractors, _languages, _opening, build, synth_language

# The first two sentences come to 22 words (two Chinese characters a word), the first alone to 8: the answer
# stops after the second, at its 。, as an English one stops after 20 words.
ZH_FIRST = "打开终端，输入安装命令并按回车键。"
ZH_SECOND = "系统会自动下载所需的文件并完成安装，整个过程通常只需要几分钟。"
ZH_GUIDE = f"""# 软件管理

## 安装软件包

{ZH_FIRST}{ZH_SECOND}安装完成后，新程序会出现在应用菜单里。如果安装失败，请检查网络连接。

## 删除软件包

在设置中打开应用列表，选择要删除的软件包，然后点击删除按钮。删除软件包不会删除您的个人文件。

## 更新系统

系统每周自动检查一次更新。有新版本时，屏幕右上角会显示提示，点击提示即可开始更新。更新期间请不要关闭电源。
"""

# 23 words: the answer ends after the second sentence, which opens with an upper-case umlaut.
DE_FIRST = "Öffnen Sie die Anmeldeseite und klicken Sie auf „Passwort vergessen“."
DE_SECOND = "Über den Link in unserer E-Mail legen Sie danach ein neues Passwort fest."
DE_GUIDE = f"""# Konto

## Passwort zurücksetzen

{DE_FIRST} {DE_SECOND} Der Link ist 24 Stunden lang gültig.

## Konto löschen

Sie können Ihr Konto in den Einstellungen unter „Datenschutz“ löschen. Alle Ihre Daten werden danach
innerhalb von 30 Tagen entfernt. Offene Rechnungen müssen vorher bezahlt sein.

## Zwei-Faktor-Authentifizierung

Die Zwei-Faktor-Authentifizierung schützt Ihr Konto mit einem zusätzlichen Code. Sie richten sie in den
Sicherheitseinstellungen ein und brauchen dafür eine Authenticator-App auf Ihrem Telefon.
"""

EN_GUIDE = """# Shipping

## Delivery times

Standard parcels arrive within two to three business days. Express parcels arrive the next business day
when you order before noon. You can follow every parcel on the tracking page.

## Shipping costs

Shipping is free for orders over fifty dollars. Smaller orders pay a flat fee of five dollars, whatever
their weight, and express delivery costs ten dollars more.
"""


def _question(sample: ChatSample) -> str:
    """The customer's words in the sample's last user message (without the prompt's language rule)."""
    user = [m for m in sample.messages if m.role == "user"][-1].content
    return user.split("\n\n")[0]


def _user(sample: ChatSample) -> str:
    return [m.content for m in sample.messages if m.role == "user"][-1]


def _rule(language: str) -> str:
    template = load_templates().language
    assert template is not None  # the test's premise: the prompt has a language rule
    return template.substitute(language=answer_language(language))


def _gold_file(sample: ChatSample) -> str:
    """The file of the passage the reference cites."""
    (number,) = citations(sample.reference, passage_numbers(sample.prompt))
    system = sample.messages[0].content
    found = re.search(rf"^\[{number}\] .* \(([^()]+)\)$", system, re.MULTILINE)
    assert found is not None
    return found.group(1)


def _passage_files(sample: ChatSample) -> set[str]:
    return set(re.findall(r"^\[\d+\] .* \(([^()]+)\)$", sample.messages[0].content, re.MULTILINE))


def _build(tmp_path: Path, **files: str) -> list[ChatSample]:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    stats = build([("", folder)], out, seed=0, heldout=0.2, no_gold_share=0.5)
    samples = load_chat_jsonl(out / "train.jsonl") + load_chat_jsonl(out / "heldout.jsonl")
    assert len(samples) == stats.train + stats.heldout
    return samples


def test_chinese_knowledge_gives_chinese_samples_answered_as_the_bot_answers(tmp_path: Path) -> None:
    samples = _build(tmp_path, guide=ZH_GUIDE)
    prefill_opening = load_templates().prefill.split("[")[0]
    headings = {"安装软件包", "删除软件包", "更新系统"}
    answered = refused = install = 0
    for sample in samples:
        question = _question(sample)
        # Chinese words only around the heading: no "Can you tell me about 安装软件包?".
        assert not re.search(r"[A-Za-z]", question), question
        assert _user(sample).endswith("\n\n" + _rule("zh"))
        assert not sample.reference.startswith(prefill_opening)
        if sample.reference == "我不知道。":
            refused += 1
            continue
        answered += 1
        assert any(heading in question for heading in headings), question
        if "安装软件包" in question:
            install += 1
            (number,) = citations(sample.reference, passage_numbers(sample.prompt))
            # The section's opening sentences, split at 。, without the prefill: "<answer> [n]".
            assert sample.reference == f"{ZH_FIRST}{ZH_SECOND} [{number}]"
    assert answered == install + 2
    assert install == 1
    # Unanswerable: the refusal in Chinese, for questions whose section is left out and off-topic ones.
    assert refused >= len(synth_language("zh").off_topic)
    asked = {_question(s) for s in samples}
    assert set(synth_language("zh").off_topic) <= asked


def test_german_knowledge_gives_german_questions(tmp_path: Path) -> None:
    samples = _build(tmp_path, konto=DE_GUIDE)
    forms = synth_language("de").questions
    headings = ("Passwort zurücksetzen", "Konto löschen", "Zwei-Faktor-Authentifizierung")
    # Every question about a section is one of the German forms around its heading, capitals kept.
    german = {form.replace("{h}", heading) for form in forms for heading in headings}
    off_topic = set(synth_language("de").off_topic)
    reset = 0
    for sample in samples:
        question = _question(sample)
        assert question in german | off_topic, question
        assert _user(sample).endswith("\n\n" + _rule("de"))
        if sample.reference == "Ich weiß es nicht.":
            continue
        (number,) = citations(sample.reference, passage_numbers(sample.prompt))
        if "Passwort zurücksetzen" in question:
            reset += 1
            assert sample.reference == f"{DE_FIRST} {DE_SECOND} [{number}]"
    assert reset == 1
    assert off_topic <= {_question(s) for s in samples}


def test_traditional_chinese_knowledge_is_asked_in_traditional_characters(tmp_path: Path) -> None:
    samples = _build(tmp_path, guide=to_traditional(ZH_GUIDE))
    forms = [to_traditional(form) for form in synth_language("zh").questions]
    headings = [to_traditional(heading) for heading in ("安装软件包", "删除软件包", "更新系统")]
    asked = {form.replace("{h}", heading) for form in forms for heading in headings}
    off_topic = {to_traditional(question) for question in synth_language("zh").off_topic}
    assert "關於" in "".join(asked)  # the forms are in Traditional characters too
    for sample in samples:
        assert _user(sample).endswith("\n\n" + _rule("zh-Hant"))
        assert _rule("zh-Hant").startswith("Write the answer in Chinese (Traditional)")
        assert _question(sample) in asked | off_topic, _question(sample)
    assert off_topic <= {_question(s) for s in samples}


def test_mixed_knowledge_asks_each_document_in_its_language(tmp_path: Path) -> None:
    samples = _build(tmp_path, shipping=EN_GUIDE, guide=ZH_GUIDE, konto=DE_GUIDE)
    prefill = load_templates().prefill
    languages = {"shipping.md": "en", "guide.md": "zh", "konto.md": "de"}
    seen: set[str] = set()
    for sample in samples:
        question = _question(sample)
        if sample.reference in (REFUSAL_ANSWER, "我不知道。", "Ich weiß es nicht."):
            # Off-topic and left-out-gold questions: in one language, among passages of that language.
            lang = {REFUSAL_ANSWER: "en", "我不知道。": "zh", "Ich weiß es nicht.": "de"}[sample.reference]
            if question in synth_language(lang).off_topic:
                assert {languages[f] for f in _passage_files(sample)} == {lang}
        else:
            lang = languages[_gold_file(sample)]
            (number,) = citations(sample.reference, passage_numbers(sample.prompt))
            opening = prefill.replace("[1]", f"[{number}]")
            assert sample.reference.startswith(opening) is (lang == "en")
        seen.add(lang)
        assert detect_message_language(question) == lang, question
        if lang == "en":
            assert _user(sample) == question  # no language rule for English
        else:
            assert _user(sample).endswith("\n\n" + _rule(lang))
    assert seen == {"en", "zh", "de"}
    asked = {_question(s) for s in samples}
    for lang in ("en", "zh", "de"):
        assert set(synth_language(lang).off_topic) <= asked


def test_chinese_distractors_are_chosen_by_word_overlap() -> None:
    def entry(source: str, heading: str, text: str) -> Entry:
        return Entry("", source, heading, text, "", heading, "zh")

    gold = entry("z.md", "安装软件包", ZH_FIRST + ZH_SECOND)
    # Sorted by file name the unrelated sections come first: only the overlap brings the related one up.
    related = entry("y.md", "软件包列表", "安装软件包之前，先更新软件包列表。")
    unrelated = [entry(f"a{i}.md", f"营业时间{i}", "周一至周五上午九点到下午六点营业。") for i in range(4)]
    pool = [gold, related, *unrelated]
    picked = [
        _distractors("能介绍一下安装软件包吗？", "zh", gold, pool, random.Random(seed), 1)[0]
        for seed in range(20)
    ]
    assert related in picked
    assert gold not in picked


@pytest.mark.parametrize(
    "text",
    [
        "我不知道。",
        "わかりません。",
        "모르겠습니다.",
        "Ich weiß es nicht.",
        "Je ne sais pas.",
        "No lo sé.",
        "Non lo so.",
        "Não sei.",
        "Ik weet het niet.",
        "Я не знаю.",
    ],
)
def test_refusals_in_other_languages_are_refusals(text: str) -> None:
    assert is_refusal(text)
    assert opens_with_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "No se puede enviar un paquete sin etiqueta [1].",  # "it cannot be sent", an answer
        "Nosotros no sellamos los paquetes [1].",
        "安装完成后，新程序会出现在应用菜单里 [1]。",
        "Ich weiß, dass es geht [1].",
    ],
)
def test_answers_in_other_languages_are_not_refusals(text: str) -> None:
    assert not is_refusal(text)


def test_every_language_of_the_data_file_is_consistent() -> None:
    languages = _languages()
    # The English forms as they always were: English samples stay byte for byte what they were.
    assert languages["en"].questions == (
        "{h}?",
        "Can you tell me about {h}?",
        "I need help with {h}.",
        "What does the help center say about {h}?",
        "How does {h} work?",
        "Question about {h}, please.",
    )
    assert languages["en"].refusal == REFUSAL_ANSWER
    # Off-topic questions are the ones the refusal gate is calibrated with: one list per language.
    assert len(languages["en"].off_topic) == len(off_topic_questions("en")) >= 48
    assert synth_language("zh-Hant").off_topic == off_topic_questions("zh-Hant")
    for code in ("en", "zh", "de", "fr", "es", "ru", "ja"):
        assert code in languages
    for code, words in languages.items():
        assert all(form.count("{h}") == 1 for form in words.questions), code
        # What the bot takes for the model's refusal, so the evaluation scores it as one.
        assert is_refusal(words.refusal), code
        for question in words.off_topic:
            assert detect_message_language(question) == code, question
    # A language without its own words: the heading is the question, the refusal is rule 3's.
    assert synth_language("pl").questions == ()
    assert synth_language("pl").refusal == REFUSAL_ANSWER
    assert synth_language("zh-Hant").refusal == "我不知道。"


def test_a_language_without_question_forms_asks_its_headings_as_they_are(tmp_path: Path) -> None:
    text = """# Konto

## Resetowanie hasła

Otwórz stronę logowania i kliknij „Nie pamiętam hasła”. Wyślemy Ci wiadomość e-mail z linkiem do zmiany
hasła. Link jest ważny przez dwadzieścia cztery godziny od wysłania wiadomości.

## Usuwanie konta

Konto możesz usunąć w ustawieniach, w zakładce „Prywatność”. Wszystkie Twoje dane usuniemy w ciągu
trzydziestu dni. Wcześniej musisz opłacić wszystkie otwarte faktury.
"""
    samples = _build(tmp_path, konto=text)
    for sample in samples:
        assert _question(sample) in ("Resetowanie hasła", "Usuwanie konta")
        assert _user(sample).endswith("\n\n" + _rule("pl"))
        assert sample.reference == REFUSAL_ANSWER or sample.reference.startswith(("Otwórz", "Konto"))


def test_unnamed_folders_each_give_their_samples(tmp_path: Path) -> None:
    """`--source zh --source de`: both folders unnamed, neither left out."""
    roots = []
    for name, text in (("zh", ZH_GUIDE), ("de", DE_GUIDE)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "guide.md").write_text(text, encoding="utf-8")
        roots.append(("", folder))
    stats = build(roots, tmp_path / "out", seed=0)
    assert stats.entries == 6
    assert stats.unanswerable >= len(synth_language("zh").off_topic) + len(synth_language("de").off_topic)


def test_answers_keep_korean_spaces_and_lists_on_their_lines() -> None:
    korean = "로그인 화면에서 비밀번호 찾기를 누르세요. 등록한 이메일로 링크가\n전송됩니다."
    assert (
        _opening(korean, 40) == "로그인 화면에서 비밀번호 찾기를 누르세요. 등록한 이메일로 링크가 전송됩니다."
    )
    listed = "你可以用以下方式付款：\n\n- 信用卡\n- 支付宝\n\n付款后会收到确认邮件。"
    assert _opening(listed, 40) == "你可以用以下方式付款：\n- 信用卡\n- 支付宝\n付款后会收到确认邮件。"
