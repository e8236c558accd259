"""Which messages are only small talk: whole greetings, thanks, goodbyes and "ok"s, never a question."""

from __future__ import annotations

import pytest

from bot.small_talk import asks_for_person, small_talk


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", "greeting"),
        ("Hello there! 👋", "greeting"),
        ("good morning", "greeting"),
        ("Bonjour", "greeting"),
        ("Привет!", "greeting"),
        ("你好啊", "greeting"),
        ("在吗？", "greeting"),
        ("thanks!!", "thanks"),
        ("Thank you very much 🙏", "thanks"),
        ("ok thanks, bye", "goodbye"),
        ("thanks bye", "goodbye"),
        ("好的谢谢", "thanks"),
        ("muchas gracias", "thanks"),
        ("bye", "goodbye"),
        ("Auf Wiedersehen", "goodbye"),
        ("ok", "ok"),
        ("got it", "ok"),
        ("好的", "ok"),
        # Traditional characters are the same phrases; Japanese has its own.
        ("謝謝！", "thanks"),
        ("在嗎？", "greeting"),
        ("好的，再見", "goodbye"),
        ("ありがとうございます", "thanks"),
        ("こんにちは", "greeting"),
        # Declining more help: looked up, "no thanks" is read with the last question, and answers it again.
        ("No, thank you!", "goodbye"),
        ("that's all", "goodbye"),
        ("Nein, danke", "goodbye"),
        ("Нет, спасибо", "goodbye"),
        ("不用了", "goodbye"),
        ("不用了，谢谢", "goodbye"),
        ("how are you?", "greeting"),
        ("Hi there, how are you doing?", "greeting"),
        ("Wie geht's?", "greeting"),
        ("你好吗？", "greeting"),
        # Nothing but emoji or symbols: looked up, it was refused and handed to a person.
        ("🙏", "ok"),
        ("👍👍", "ok"),
        ("😀😀🙏", "ok"),
        ("???", "ok"),
        # Found in a Brazilian shop's trial: each was refused as a question the help center does not answer.
        ("oi", "greeting"),
        ("bom dia!", "greeting"),
        ("e aí, tudo bem?", "greeting"),
        ("valeu", "thanks"),
        ("obrigada!", "thanks"),
        ("beleza, valeu", "thanks"),
        ("tchau", "goodbye"),
        ("não, obrigado", "goodbye"),
        ("era só isso, obrigado", "goodbye"),
        ("tá bom então", "ok"),
        # A Korean and a Russian trial: looked up, "감사합니다" quoted the authors' thanks to contributors.
        ("안녕하세요", "greeting"),
        ("감사합니다!", "thanks"),
        ("네 알겠습니다", "ok"),
        ("спасибо, всё понятно", "thanks"),
        # An Italian trial: "ciao" was answered "Goodbye, and thanks for getting in touch!" as a first
        # message, and the others were refused or read as follow-ups.
        ("ciao", "greeting"),
        ("Ciao!", "greeting"),
        ("buongiorno", "greeting"),
        ("Buonasera", "greeting"),
        ("salve", "greeting"),
        ("ciao, buongiorno", "greeting"),
        ("grazie", "thanks"),
        ("grazie mille!", "thanks"),
        ("ok grazie", "thanks"),
        ("perfetto grazie", "thanks"),
        ("grazie davvero, gentilissima", "thanks"),
        ("tutto chiaro", "ok"),
        ("va bene", "ok"),
        ("arrivederci", "goodbye"),
        ("a presto", "goodbye"),
        ("no grazie", "goodbye"),
        ("grazie, buona giornata", "goodbye"),
        # "ciao" with thanks or an ok takes leave, in any language that borrows it.
        ("grazie, ciao", "goodbye"),
        ("ok ciao", "goodbye"),
        ("ciao ciao", "goodbye"),
        ("danke, ciao", "goodbye"),
        # A Japanese trial: refused as questions. The phrases are compared in Simplified characters, as the
        # message is ("お願い" reads "お愿い", "結構" "结构").
        ("ありがとうございます、助かりました", "thanks"),
        ("ありがと", "thanks"),
        ("よろしくお願いします", "thanks"),
        ("了解しました", "ok"),
        ("わかりました、ありがとう", "thanks"),
        ("結構です", "goodbye"),
        # A Chinese trial: the customer saying it is solved was searched as a question.
        ("谢谢，解决了", "thanks"),
        ("解决了，谢谢", "thanks"),
        ("没问题了，谢谢", "thanks"),
        ("搞定了", "ok"),
        ("謝謝，解決了", "thanks"),
        # A Korean trial: refused as questions. Abbreviations, cute endings and emoticons as Koreans chat.
        ("ㅇㅋ", "ok"),
        ("넵", "ok"),
        ("넵 알겠습니다~", "ok"),
        ("감사합니당", "thanks"),
        ("ㄱㅅ", "thanks"),
        ("땡큐!", "thanks"),
        ("감사합니다ㅎㅎ", "thanks"),
        ("정말 감사합니다", "thanks"),
        ("하이", "greeting"),
        ("안녕하세여", "greeting"),
        ("수고하셨습니다", "goodbye"),
        # Korean emoticons alone say what an emoji says: "ㅠㅠ" after an answer was looked up and refused.
        ("ㅠㅠ", "ok"),
        ("ㅋㅋㅋ", "ok"),
    ],
)
def test_small_talk(text: str, kind: str) -> None:
    assert small_talk(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "hi, where is my parcel?",
        "hello how do I reset my password",
        "thanks but it did not work",
        "is it good",
        "how are you finding the new app",
        "help",
        "你好，我的包裹丢了",
        "谢谢，但是还是不行",
        "no",  # may mean "no, that did not help"
        "no thanks, where is my parcel?",
        "",
        "hi " * 30,
        "hi, how are you? where is my parcel",
        "show all",
        "ciao, il mio pacco non è arrivato",
        "grazie ma non funziona",
        "buongiorno, come faccio il reso?",
        "a presto arriverà?",
        "come va il reso",
        "ありがとうございます、でも届いていません",
        "よろしくお願いします、返品したいです",
        "解决不了",
        "还是没解决",
        "谢谢，但是没解决",
        "没问题吗？",
        "ㅠㅠ 배송이 안 와요",
        "ㅇㅋ 근데 환불은요?",
        "감사합니다 근데 쿠폰은 어디서 받아요?",
        "하이 배송비 얼마예요",
    ],
)
def test_anything_with_a_question_in_it_is_not(text: str) -> None:
    assert small_talk(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a person",
        "human",
        "Human please",
        "Can I speak to an agent?",
        "how do I talk to a human?",
        "get me a real person pls",
        "talk to someone please",
        "Mit einem Menschen sprechen, bitte",
        "je veux parler à un humain",
        "quiero hablar con una persona",
        "позовите оператора",
        "我要人工",
        "轉人工",
        "オペレーターと話したい",
        # Found in a Spanish trial: only the one phrase was known, so these were refused or quoted a section.
        "no me sirve, quiero hablar con una persona",
        "me pasas con un agente?",
        "pásame con un operador por favor",
        "pasame con un operador",
        "quiero hablar con alguien de atención al cliente",
        "¿Puedo hablar con un asesor?",
        "i dont want to chat with a bot, get me a real person pls",
        "this doesn't help, I want a human",
        "Ich möchte mit einem Mitarbeiter sprechen",
        "Verbinden Sie mich bitte mit einem Menschen",
        "ça ne m'aide pas, je veux parler à un conseiller",
        "est-ce que je peux parler à quelqu'un ?",
        "хочу поговорить с живым человеком",
        "соедините с оператором пожалуйста",
        "我要找人工客服",
        "麻烦转人工",
        "我想和真人说话",
        # Found in a Brazilian shop's trial: one quoted the e-mail section, the other a scam warning.
        "quero falar com um atendente",
        "quero falar com uma pessoa de verdade",
        "isso não ajuda, quero falar com um humano",
        "me passa pra um atendente por favor",
        "Gostaria de falar com um atendente",
        "atendente",
        "상담원 연결해 주세요",
        # Found in an Italian trial: each was refused as a question the help center does not answer.
        "voglio parlare con un operatore",
        "mi passi un operatore?",
        "mi passi un umano?",
        "posso parlare con una persona vera?",
        "parlare con un operatore umano",
        "operatore",
        "non mi aiuta, vorrei parlare con un operatore per favore",
        "mi può passare l'assistenza clienti?",
        "vorrei parlare con qualcuno dell'assistenza clienti",
        "voglio parlare con una persona, non con un bot",
        # A Japanese trial: "お願いします" was looked for after the message had become "…お愿いします".
        "オペレーターお願いします",
        "人と話せますか",
        "オペレーターと話したいです",
        "人間と話したいです",
        "担当者につないでください",
        "スタッフと話したい",
        "有人対応",
        "すみません、オペレーターと話したいのですが",
        # A Chinese trial: neither was handed to a person. A complaint is taken by a person in Chinese
        # customer service.
        "有没有真人",
        "有没有人工客服？",
        "有人工吗",
        "我要投诉",
        "我想投诉",
    ],
)
def test_a_message_that_only_asks_for_a_person_is_recognised(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "How do I tell the courier to wait?",
        "can a person collect my parcel for me?",
        "Is there a human?",
        "human rights",
        "my parcel never arrived",
        "i dont want to chat with a bot, my parcel is lost and the agent at the shop was rude",
        "this doesn't help",
        "¿puedo hablar con un agente sobre mi pedido?",
        "quiero pasar a recoger mi pedido",
        "agente de aduanas",
        "le conseiller m'a dit de renvoyer le colis",
        "Wie erreiche ich den Kundenservice?",
        "оператор не отвечает",
        "客服电话是多少",
        "oi, meu pix não caiu",
        "o atendente foi grosseiro",
        "상담원 전화번호 알려주세요",
        "como falo com o suporte por e-mail?",
        "quero falar com o gerente sobre meu empréstimo",
        # Sending money to a person is no request for one.
        "quero transferir para uma pessoa",
        "posso transferir para alguem?",
        "posso trasferire il credito a un'altra persona?",
        "posso avere supporto per la fibra?",  # help, not someone
        "posso trasferire a qualcuno?",
        "posso parlare con un operatore riguardo al mio ordine?",
        "l'operatore è stato scortese",
        "qual è il numero dell'assistenza clienti?",
        "come contattare l'assistenza clienti?",
        "come cambio operatore telefonico?",
        "sei un umano?",
        "オペレーターですか？",
        "人工客服几点上班？",
        "怎么投诉",
        "投诉电话是多少",
        "有没有客服电话",
        "オペレーターの営業時間は？",
        "担当者の電話番号を教えてください",
        "スタッフの対応が悪い",
        "🙂",
        "",
    ],
)
def test_a_question_that_mentions_people_is_no_request_for_one(text: str) -> None:
    assert not asks_for_person(text)
