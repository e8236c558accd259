"""Turns a follow-up into a standalone search query, in code (no model call), only when there is history."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.arabic import arabic_folded
from bot.domain import Turn
from bot.kb.analysis import HANGUL_WORD, analyzer, korean_stem, question_language, references
from bot.kb.calibration import KOREAN_QUESTION_WORDS
from bot.language import UNDETERMINED, normalize
from bot.texts import without_leads
from bot.unicode import MARKS, without_accents

# A word, with the marks written on its letters ("बदलूं" is one word, not three).
_WORD = re.compile(rf"(?:[\w']|[{MARKS}])+", re.UNICODE)
# Words that point back at something said before: "how do I install it", "what about that one", "Wie lange
# dauert das?", "Combien ça coûte ?", "那个多少钱？". Only words that are nothing else: French "le", "la",
# "en", "y" are also articles and prepositions, and German "es" is Spanish "is" ("Comment changer la
# langue ?" and "¿Qué es Parcelly Plus?" stand on their own).
_ANAPHORA_LINES = (
    "it its it's that this these those they them their there he she him her one ones same such",
    "das dies diese dieser dieses dort dafür damit davon darauf",
    "ça cela ceci celui celle ceux celles",
    "eso esto ese esa ello allí",
    "isso isto esse essa nisso disso desse dessa nesse nessa lá",
    "questo quello quella",
    "это этот эта эти то тот та там он она они его её их",
    # Indonesian "tersebut" (the said …) only points back; "itu" also marks a topic ("apa itu LintasPay
    # Premium?").
    "tersebut",
)
_ANAPHORA = frozenset(word for line in _ANAPHORA_LINES for word in line.split())
# A Turkish question's pointing words: the others and Turkish "bu", "bunu", "onu", "şunu" and their cases: a
# Turkish marketplace's trial's "bu ne kadar sürer"
# after a refund question was answered from the shipping section. In Turkish only: Indonesian "bu" addresses
# a woman ("Halo bu, paket saya belum datang"), Spanish "onda" is a wave, Polish "ona" "she". Not "o", the
# Portuguese article ("qual o prazo?"), nor "şu" typed "su", which is "water" ("su ısıtıcısı").
_TURKISH_ANAPHORA_TEXT = (
    "bu bunu bunun buna bunda bundan bunlar bunları şu şunu şunun şuna onu onun ona onda ondan onlar"
    " onları onlara"
)
_TURKISH_ANAPHORA = _ANAPHORA | frozenset(_TURKISH_ANAPHORA_TEXT.split())
# Personal pronouns may stand for what the message itself names: a reference it quotes ("заказ VM-10293847 где
# он?": a Russian trial's question on its order was searched with the previous one, on a login code, and
# answered from it), or words of an earlier clause ("как отменить заказ если он уже в пути", "my parcel is
# late, where is it?"). A clause begins after a punctuation mark or with one of `_CLAUSE_OPENERS`; "and"
# joins words as often as clauses ("my account and all data on it" still points back).
_PERSONAL_TEXT = "it its it's they them their he she him her он она они его её их"
_PERSONAL = frozenset(_PERSONAL_TEXT.split())
_CLAUSE_OPENERS_TEXT = (
    "if when where why how what which who because since unless until while but"
    " если когда где куда откуда как почему зачем сколько что чтобы потому хотя пока но а"
)
_CLAUSE_OPENERS = frozenset(_CLAUSE_OPENERS_TEXT.split())
_CLAUSE_MARKS = ",;:.!?？，。！；"
_CLAUSE_TOKEN = re.compile(f"[\\w']+|[{_CLAUSE_MARKS}]")
# Chinese, Japanese and Korean pointing words, at the start of the question ("这个多少钱？", "那退款呢？",
# "이거 환불 받을수 있어요?", "그럼 환불은요?"): a Korean trial's "이거 환불 받을수 있어요?" after a complaint
# was searched alone, and quoted the coupon rules.
_CJK_ANAPHORA = (
    *("这", "那", "它", "それ", "これ", "あれ", "その", "この"),
    *("그럼", "그러면", "이거", "그거", "저거", "이건", "그건", "저건", "이것", "그것", "저것", "거기"),
)
# Korean "and X?" ("택배배송은요?" after a question on the dawn delivery's fee): a word that ends in the topic
# particle with 요, or alone before a question mark, asks the previous question again about X.
_KOREAN_ASKS_AGAIN = re.compile(r"[가-힣](?:[은는]요|[은는](?=\s*[?？]))[\W_]*$")
# Korean writes a noun with its particles and a verb with its endings as one word ("해지는", "신고해야",
# "되나요"): counted as jamo pairs, every Korean question had two topic words or more, and none was a
# follow-up. A word counts as its stem does, without an ending or a particle (`korean_stem`, as it is
# searched), one word per two syllables (a compound such as 무통장입금 is several); question words
# (`KOREAN_QUESTION_WORDS`) and words that are only an ending (해요, 되나요, 있어요) count none.
_KOREAN_QUESTION = (*KOREAN_QUESTION_WORDS, "왜", "몇", "며칠")
# Of those, a noun's: particles and the copula ("무료에요?", is it free?, asks about a word). Any other is a
# verb's or an adjective's (`_korean_asks_on_its_own`).
_KOREAN_NOUN_ENDINGS_TEXT = (
    "인가요 인데요 이에요 예요 에요 입니다 인지 이죠 죠"
    " 이랑 에서 으로 까지 부터 은 는 이 가 을 를 도 만 에 로 랑 와 과 의 요"
)
_KOREAN_NOUN_ENDINGS = frozenset(_KOREAN_NOUN_ENDINGS_TEXT.split())
# "What about Belgium?", "and for business accounts?" ask the previous question again about something else,
# whatever they name. "And", "but", "so" alone only join: "and how do I file a claim?" names its own topic
# (searched with the previous question, "Is my parcel insured?", it was answered from the insurance FAQ).
# "And what if I paid by PayPal?" after "How long does a refund take?" asks it again for another case.
_ASKS_AGAIN = (
    *("what about", "how about", "and what about", "and how about"),
    *("and for ", "and in ", "and on ", "and to ", "and with ", "or for ", "or in "),
    *("and what if ", "but what if ", "and if ", "but if "),
    *(
        "et si ",
        "et pour ",
        "mais si ",
        "y si ",
        "y para ",
        "¿y si ",
        "¿y para ",
        "pero si ",
        "¿y qué pasa si ",
    ),
    *("und wenn ", "und für ", "aber wenn ", "а если ", "а для ", "и если "),
    # Portuguese: "e se for no fim de semana?" after a question on the Pix limit at night.
    *("e se ", "mas e se ", "mas se ", "e para ", "e pra ", "e no ", "e na ", "e nos ", "e nas ", "e em "),
    # Italian ("e se " above too): "e per i resi internazionali?" after a question on the returns window was
    # searched alone.
    *("e per ", "ma se ", "e invece ", "e nel ", "e nella ", "e nei ", "e nelle ", "e in ", "e con "),
    # Dutch: "en als ik niet thuis ben?" and "maar wat als ik met Bancontact betaal?" name words of their own,
    # and were searched alone, without the delivery or refund they ask about. ("en " alone only joins.)
    *("en voor ", "en als ", "maar als ", "en wat als ", "maar wat als ", "en wat met "),
    *("en hoe zit het met ", "en in ", "en naar ", "en met ", "en bij ", "en op ", "of voor "),
    # Indonesian: "kalau yang pakai kartu kredit gimana?" and "terus kalau saldonya belum masuk juga?" after a
    # question on top-ups name words of their own, and were searched alone. ("kalau " alone is "if": "kalau
    # lupa PIN gimana?" stands on its own.)
    *("kalau yang ", "kalo yang ", "klo yang ", "kalau untuk ", "kalo untuk ", "kalau buat ", "kalo buat "),
    *("kalau lewat ", "kalo lewat ", "kalau pakai ", "kalau pake ", "kalo pakai ", "kalo pake "),
    *("kalau via ", "kalo via ", "terus kalau ", "terus kalo ", "trus kalau ", "trus kalo ", "lalu kalau "),
    *("tapi kalau ", "tapi kalo ", "bagaimana dengan ", "gimana dengan ", "terus gimana ", "trus gimana "),
    *("yang itu ", "yg itu "),
)
# Turkish asks the previous question again with "ya …" (and if …: "ya taksitli alırsam?") and "o zaman …"
# (then …: "o zaman kargo ücreti?"), after "peki" (well) or not: each names words of its own, and was
# searched alone. Only in Turkish: Spanish "ya" is "already" ("ya pagué y no llegó"). Its pointing words
# ("bu ne kadar sürer", "şu sipariş") are `_TURKISH_ANAPHORA`.
_TURKISH_ASKS_AGAIN = re.compile(r"(?:(?:peki|ama|e|iyi de|tamam da)\s+)?(?:ya\s|o\s+zaman\b)")
# Vietnamese has no stop words here, so every syllable counts as a content word, and its follow-ups are read
# by their form: "còn … thì sao?" (and what about …?), "vậy còn …?", and a thing with "đó", "này", "ấy"
# (that, this) after its classifier ("gói đó", "cái này"). A Vietnamese telecom's trial's "còn gói 5G thì
# sao?" and "vậy hủy gói đó thế nào" after a question on a data package were searched alone. "còn" alone is
# also "left" ("còn bao nhiêu GB?" asks on its own), and "nay" without its mark is "hôm nay" (today).
_VIETNAMESE_ASKS_AGAIN = re.compile(
    r"^(?:(?:vậy|vay|thế|the)\s+)?(?:còn|con)\s+\S.*?\s(?:thì|thi)\s+(?:sao|thế nào|the nao|ra sao"
    r"|như thế nào|nhu the nao)(?:\s+(?:ạ|a|ad|vậy|vay|nhỉ|nhi|nhé))*[\s?!.]*$"
    # Not "the con …" without marks: English.
    r"|^(?:vậy|vay|thế)\s+(?:còn|con)\s"
    r"|(?:^|\s)(?:cái|gói|vụ|dịch vụ|chương trình|mã|thẻ|khoản|phí|sim|số|app|ứng dụng)"
    r"\s+(?:đó|đấy|ấy|này|kia)(?=$|[\s?!.,])"
)
# Arabic asks the previous question again with "and what about …", "and if …", "as for …" ("وماذا عن",
# "واذا", "ولو", "وبالنسبة ل", Gulf "ووش عن", Levantine "وشو عن", Egyptian "وايه عن"), after "well" ("طيب",
# "طب") or not; compared folded (`arabic_folded`: "وإذا" is "واذا"). "If" alone ("لو", "اذا") stands on its
# own.
_ARABIC_ASKS_AGAIN = re.compile(
    r"^(?:(?:طيب|طب|تمام|اوكي)\s+)?"
    r"(?:(?:و?ماذا\s+(?:عن|لو)|واذا|ولو|وان|وعن|و(?:شو|وش|ايش|ايه)\s+عن)(?=\s|$)|و?بالنسبه\s+ل)"
)
# Greek asks the previous question again with "and if …" ("και αν", "κι αν", "και εάν", "αλλά αν"), "and for
# …" ("και για") and "and what about …" ("και τι γίνεται με", "… αν", "… για"), and in Greeklish ("kai an",
# "ki an", "kai gia", "kai ti ginetai me"); compared without accents (`without_accents`: "και εάν" is "και
# εαν"). "If" alone ("αν") stands on its own, and so does "τι γίνεται με …" without "και": "τι γίνεται με την
# παραγγελία μου;" asks what became of an order.
_GREEK_ASKS_AGAIN = re.compile(
    r"^(?:(?:και|κι)\s+(?:αν|εαν|για|τι\s+γινεται\s+(?:με|αν|για))|αλλα\s+(?:αν|εαν)"
    r"|(?:kai|ki)\s+an|kai\s+(?:gia|ti\s+ginetai\s+me|ti\s+ginete\s+me))(?=\s|$)"
)
# Persian asks the previous question again with "and if …" ("و اگه", "و اگر", "ولی اگه"), and with "… چی؟"
# (what about …?) after "if", "about", "for", "then" or "and" ("اگه با کارت پرداخت کنم چی؟", "در مورد ارسال به
# شهرستان چی؟", "پس هزینه ارسال چی؟"); compared folded, as Arabic is (`arabic_folded`: "چی" is "چي" whether
# typed on a Persian or an Arabic keyboard). "If" alone ("اگه", "اگر") stands on its own ("اگه رمزم یادم بره
# چیکار کنم؟"), and so does "what happens if" ("اگه سفارش رو لغو کنم چی میشه؟").
_PERSIAN_ASKS_AGAIN = re.compile(
    arabic_folded(
        r"^(?:و|ولی|اما)\s+(?:اگه|اگر)(?=\s|$)"
        r"|^(?:و|پس|(?:(?:و|پس)\s+)?(?:اگه|اگر|در\s+مورد|درباره|راجع\s+به|راجب|برای|واسه))[\s\u200c]+\S.*"
        r"\s(?:چی|چطور)[\s؟?!.]*$"
    )
)
# Ukrainian asks the previous question again with "and if …" ("а якщо", "і якщо", "а що як", "але якщо"),
# "and what about …" ("а як щодо", "а щодо", "а що з", "а що із", "а що зі"), "and in case …" ("а у разі")
# and "and also …" ("і ще", with a Latin "i" as a Russian keyboard types it; not "и ще", Bulgarian's "and
# will …"); "а для" is Russian's, above.
# "If" alone ("якщо") stands on its own, and so does "що з …" without "а": "що з моїм замовленням?" asks
# what became of an order; "і ще одне питання: …" opens a question of its own.
_UKRAINIAN_ASKS_AGAIN = re.compile(
    r"^(?:(?:ну|добре|гаразд|ок)\s+)?(?:(?:а|і|i|й|та|але)\s+(?:якщо|що\s+як|у\s+разі|в\s+разі)"
    r"|а\s+(?:як\s+)?щодо|а\s+що\s+(?:з|із|зі))(?=\s|$)"
    r"|^(?:і|i|й)\s+ще\s+(?!(?:одне|одна|одного|одну|питання|запитання|таке|момент)(?:\s|$|[,:?!.]))"
)
# Hebrew asks the previous question again with "and if …" ("ואם", "ומה אם", "אבל אם"), "and what about …"
# ("ומה לגבי", "ולגבי", "ומה עם", "ומה בנוגע", "ובנוגע") and "and also …" ("וגם"), its "and" written on the
# word; with a word's final letter or without ("ואמ"). "If" alone ("אם") stands on its own, and so does
# "מה עם …" without "ו": "מה עם ההזמנה שלי?" asks what became of an order; and a word that only starts as
# one of these does ("ואמא שלי יכולה לאסוף?").
_HEBREW_ASKS_AGAIN = re.compile(
    r"^(?:(?:אוקיי|אוקי|טוב|בסדר|סבבה)\s+)?(?:וא[םמ]|ומה\s+א[םמ]|אבל\s+א[םמ]|ומה\s+(?:לגבי|ע[םמ]|בנוגע)|ולגבי"
    r"|ובנוגע|וגם)(?=\s|$)"
)
# Czech asks the previous question again with "and if …" ("a co když", "a když", "a pokud", "a kdyby", "ale co
# když", "ale pokud"), "and what about …" ("a co zásilky do zahraničí?", "a co s", "a co třeba", "a jak je to
# s", "a jak to bude u") and "and for / in / to / with …" ("a pro", "a u", "a v případě", "a do", "a na", "a
# s", "a při"), after "ok", "dobře", "jasně" or not; Slovak with "a čo ak", "a ak", "ale ak", "a čo …", "a
# pre", "a v prípade"; compared without accents (`without_accents`: "a co kdyz" is "a co když"), as Czech and
# Slovak customers very often type. "A co …" asks again only when short, five words at most after it and no
# clause of its own: "a co se stane, když zruším objednávku?" asks on its own. "If" alone ("když",
# "pokud"), "co když …" and "jak je to s …" without "a", "a jak …" that asks how to do something ("a jak
# změním heslo?"), and a word that only starts as one ("a produkty?", "a kdyžtak") stand on their own.
_CZECH_ASKS_AGAIN = re.compile(
    r"^(?:(?:ok|okej|dobre|dobra|jasne|aha|tak|no)\s*,?\s+)?"
    r"(?:(?:(?:a|ale)\s+(?:co\s+)?(?:kdyz|pokud|kdyby|ak)"
    r"|a\s+jak\s+(?:je\s+to|to\s+je|to\s+bude|to\s+funguje)\s+(?:s|se|u|pro|pre|v|ve|na|do|pri)"
    r"|a\s+co\s+(?:trebas?|v\s+pripade)|a\s+v\s+pripade|a\s+(?:pro|pre|u|do|na|s|se|pri))(?=\s|$)"
    r"|a\s+co(?:\s+[^\s?!.,]+){1,5}[\s?!.]*$)"
)
# Swedish asks the previous question again with "and if …" ("och om", "och ifall", "men om", "men ifall"),
# "and what about …" ("och hur är det med", "och hur blir det med", "och vad gäller", "och när det gäller",
# "och vad sägs om") and "and for / to / in / with …" when short, four words at most and no question word
# after it ("och för företag?", "och till Norge?", "och i appen?", "och med Swish?", "och vid retur?"; not
# "och i vilken butik kan jag hämta mitt paket?"), after "ok", "okej", "bra", "jaha" or not; compared
# without accents (`without_accents`: "och nar det galler" is "och när det gäller"), as Swedish customers
# often type. "If"
# alone ("om", "ifall"), "hur är det med …" without "och", "och hur …" asking how to do something ("och hur
# ändrar jag adressen?"), "och vad händer om …" and a word that only starts as one ("och förseningar…") stand
# on their own.


def _short_without(question_words: str, most: int) -> str:
    """A pattern for one to `most` more words to the end of the text, the first of them none of
    `question_words` (an alternation): "a dla firm?" asks again, "a w jakich godzinach …?" asks on its own."""
    return rf"(?:\s+(?!(?:{question_words})(?:[\s?!.]|$))[^\s?!.,]+){{1,{most}}}[\s?!.]*$"


_SWEDISH_QUESTION_WORDS = r"vilken|vilket|vilka|hur|vad|var|nar|vem|varfor|kan|far|maste|ska|bor"
_SWEDISH_ASKS_AGAIN = re.compile(
    r"^(?:(?:ok|okej|okey|bra|jaha|aha|toppen|tack)\s*,?\s+)?"
    r"(?:(?:och|men)\s+(?:om|ifall|hur\s+(?:ar|blir)\s+det\s+(?:med|for|vid|i|pa)|vad\s+galler"
    r"|nar\s+det\s+galler|vad\s+sags\s+om)(?=\s|$)"
    r"|och\s+(?:for|till|i|pa|med|vid|fran|hos|inom|utan|via)"
    rf"{_short_without(_SWEDISH_QUESTION_WORDS, 4)})"
)
# Hungarian asks the previous question again with "and if …" ("és ha", "de ha", "és akkor ha", "és abban az
# esetben, ha"), "and what about …" ("és mi van, ha", "és mi van a(z)", "és mi a helyzet a(z)", "és mi a
# helyzet, ha") and "and the …?" ("és a külföldi szállítás?", "és az expressz?"), after "ok", "oké",
# "rendben", "értem" or not; compared without accents (`without_accents`: "es mi van ha" is "és mi van, ha"),
# as Hungarian customers often type. "És a(z) …" asks again only when short, five words at most after it,
# with no question word or verb of a question of its own: "és a jelszavamat hogyan tudom megváltoztatni?"
# asks on its own. "If" alone ("ha"), "mi van, ha …" without "és", "és mi történik, ha …" and a word that only
# starts as one ("és habár…") stand on their own.
_HUNGARIAN_QUESTION_WORDS = (
    r"hogyan|hogy|hol|honnan|hova|mikor|miert|mennyi|mennyibe|mennyit|mit|mi|ki|kit|melyik|milyen|hany"
    r"|tudom|tudok|tudnam|lehet|lehetseges|kell|kellene|szabad"
)
_HUNGARIAN_ASKS_AGAIN = re.compile(
    r"^(?:(?:ok|oke|okes|rendben|ertem|aha|jo|koszi)\s*,?\s+)?"
    r"(?:(?:(?:es|de)\s+(?:akkor\s+)?ha|es\s+abban\s+az\s+esetben\s*,?\s+ha"
    r"|es\s+mi\s+(?:van|a\s+helyzet)\s*,?\s+(?:ha|az?|azzal|ezzel))(?=\s|$|,)"
    rf"|es\s+az?{_short_without(_HUNGARIAN_QUESTION_WORDS, 5)})"
)
# Polish asks the previous question again with "and if …" ("a jeśli", "a jeżeli", "a gdyby", "a co jeśli",
# "a co gdyby", "ale jeśli", "ale co jeśli"), "and what about …" ("a co z", "a jak jest z", "a jak to jest
# z", "a jak to wygląda z", "a co …" when short) and "and for / to / in …" ("a w przypadku", and when short,
# four words at most and no question word after it: "a dla firm?", "a do Niemiec?", "a za granicę?"; not "a w
# jakich godzinach pracuje infolinia?"), after "ok", "dobrze", "dobra", "jasne", "aha" or not;
# compared without accents (`without_accents`: "a jesli" is "a jeśli", "ł" as "l"), as Polish customers
# often type. "A co …" asks again only when short, five words at most after it and no clause of its own:
# "a co się stanie, jeśli anuluję zamówienie?" asks on its own. "If" alone ("jeśli"), "co jeśli …" and "jak
# jest z …" without "a", "a jak …" asking how to do something ("a jak zmienić adres dostawy?") and a word
# that only starts as one ("a dlaczego…", "a dokumenty…") stand on their own.
_POLISH_QUESTION_WORDS = (
    r"jak\w*|jaki\w*|jaka|jakie\w*|ktor\w*|ile|czym|kim|kogo|czego|kiedy|gdzie|dlaczego|czy|mozna|moge"
)
_POLISH_ASKS_AGAIN = re.compile(
    r"^(?:(?:ok|okej|dobrze|dobra|jasne|aha|no|dzieki|rozumiem)\s*,?\s+)?"
    r"(?:(?:(?:a|ale)\s+(?:co\s+)?(?:jesli|jezeli|gdyby|gdy)"
    r"|a\s+jak\s+(?:jest|to\s+jest|to\s+wyglada|wyglada\s+sprawa|to\s+bedzie)\s+(?:z|ze|w|dla|przy|na)"
    r"|a\s+co\s+(?:z|ze|w\s+przypadku)|a\s+w\s+przypadku)(?=\s|$)"
    r"|a\s+(?:dla|do|na|przy|w|we|z|ze|za|u|od|po)"
    rf"{_short_without(_POLISH_QUESTION_WORDS, 4)}"
    r"|a\s+co(?:\s+[^\s?!.,]+){1,5}[\s?!.]*$)"
)
_ASKS_AGAIN_IN = {"sv": _SWEDISH_ASKS_AGAIN, "hu": _HUNGARIAN_ASKS_AGAIN, "pl": _POLISH_ASKS_AGAIN}
# A question with fewer content words than this (stop words aside) names no topic of its own: "how long?",
# "in Belgium?", "那退款呢？". Counting all words instead (four or fewer meant a follow-up) took "what is
# Parcelly Plus" for one, and every Chinese question written without spaces.
MIN_TOPIC_WORDS = 2
# A message of one content word the previous question and its answer do not hold is a new question, typed as
# a search box takes it: a Russian trial's "гарантия" (warranty) after a question on parcel lockers was
# searched with it and got the lockers' answer again. One they hold asks about what was said ("продлить?",
# extend it?), and one with other words is read as before ("and Belgium?", "in Belgium?"). One with a
# question mark asks the previous question again ("Belgium?", "Saturday?", "顺丰？" after an answer that
# names none of them were searched alone): only a bare word is a search box's (`_ASKED`).
ONE_WORD = 1
_ASKED = ("?", "？")
# Articles and possessives a search box's word may come with: "the door", "my refund" after a question on
# changing an address named a topic of its own, and was searched with that question and answered with its
# answer again. Words such as "and", "in" or "what about" still ask the previous question again.
_DETERMINERS = frozenset(
    [
        *("the", "a", "an", "my", "your", "our"),
        *("der", "die", "das", "den", "dem", "ein", "eine", "einen", "mein", "meine"),
        *("le", "la", "les", "un", "une", "mon", "ma", "mes", "el", "los", "las", "una", "mi", "mis"),
        *("de", "het", "een", "mijn", "o", "os", "um", "uma", "meu", "minha"),
        *("il", "lo", "gli", "uno", "mio", "mia"),
    ]
)
# A question that points back with a pronoun but names more content words than this has a topic of its own:
# "how much does it cost to send a small parcel?" (its "it" is no reference) was searched together with the
# previous question about a locker door, and answered with how to close it. "Can I get a refund for it?"
# (two) and "how do I delete my account and all data on it?" (three) still point back.
MAX_POINTING_WORDS = 3


def needs_context(question: str, lang: str | None = None, said: str = "") -> bool:
    """A follow-up that cannot be searched on its own: asks the previous question again ("what about…"),
    points back with a pronoun (`_points_back`) and names at most `MAX_POINTING_WORDS` content words, or has
    fewer than `MIN_TOPIC_WORDS` content words in its language (`lang`; None: detected), unless it is one
    word (with an article or a possessive at most) without a question mark that `said` (the previous
    question and its answer, where known) does not hold (`ONE_WORD`)."""
    text = question.strip().lower()
    words = _WORD.findall(text)
    if not words:
        return False
    if text.startswith(_ASKS_AGAIN):
        return True
    if text.startswith(_CJK_ANAPHORA) or _KOREAN_ASKS_AGAIN.search(text):
        return True
    if _VIETNAMESE_ASKS_AGAIN.search(text) or _ARABIC_ASKS_AGAIN.match(arabic_folded(text)):
        return True
    if _GREEK_ASKS_AGAIN.match(without_accents(text)) or _PERSIAN_ASKS_AGAIN.match(arabic_folded(text)):
        return True
    if _UKRAINIAN_ASKS_AGAIN.match(text) or _HEBREW_ASKS_AGAIN.match(text):
        return True
    plain = without_accents(text)
    if _CZECH_ASKS_AGAIN.match(plain):
        return True
    language = lang if lang and lang != UNDETERMINED else question_language(question)
    # Only in their language: Hungarian's "és a …" typed without its accent is Spanish's "es a …" ("es a
    # domicilio el envío?"), Swedish's "och i …" and Polish's "a w …" open questions of other languages too.
    asks_again = _ASKS_AGAIN_IN.get(normalize(language))
    if asks_again is not None and asks_again.match(plain):
        return True
    if analyzer(language).lang == "tr" and _TURKISH_ASKS_AGAIN.match(text):
        return True
    topic = _topic_words(question, language)
    content = analyzer(language).words(question)
    pointing = _TURKISH_ANAPHORA if analyzer(language).lang == "tr" else _ANAPHORA
    if _points_back(text, frozenset(content), pointing, quotes_reference=bool(references(question))):
        return topic <= MAX_POINTING_WORDS
    if topic and _korean_asks_on_its_own(question, language):
        return False
    bare = [word for word in words if word not in _DETERMINERS]
    if said and topic == ONE_WORD and content == bare and not text.endswith(_ASKED):
        return set(analyzer(language).terms(question)) <= set(analyzer(language).terms(said))
    return topic < MIN_TOPIC_WORDS


def _points_back(
    text: str, content: frozenset[str], pointing: frozenset[str], *, quotes_reference: bool
) -> bool:
    """Whether lower-cased `text` holds a `pointing` word (`_ANAPHORA`; `_TURKISH_ANAPHORA` in Turkish)
    that stands for something said before: any but a personal pronoun that follows `content` words of an
    earlier clause or comes with a quoted reference (`_PERSONAL`)."""
    earlier = here = False
    for token in _CLAUSE_TOKEN.findall(text):
        if token in _CLAUSE_MARKS or token in _CLAUSE_OPENERS:
            earlier, here = earlier or here, False
        elif token in pointing:
            if token not in _PERSONAL or not (earlier or quotes_reference):
                return True
        elif token in content:
            here = True
    return False


def _topic_words(question: str, language: str) -> int:
    """How many content words `question` names in `language`, stop words aside (Korean: `_korean_words`)."""
    words = analyzer(language).words(question)
    if analyzer(language).lang != "ko":
        return len(words)
    return _korean_words(question) + sum(1 for word in words if not HANGUL_WORD.match(word))


def _korean_asks_on_its_own(question: str, language: str) -> bool:
    """Whether Korean `question` asks with a question word or a verb of its own ("환불은 어떻게
    하나요?", "환불 가능한가요?"): with a topic word, it is a question as "How do I get a refund?" is,
    and stands alone. After "새벽배송 배송비 얼마예요?" both were searched together with it. A new
    aspect of what was said ("해지는 어떻게 해요?" after a question on a membership) reads the same,
    and stands alone too: only "X은요?" and pointing words (그럼, 이거) ask the previous question
    again."""
    if analyzer(language).lang != "ko":
        return False
    for word in HANGUL_WORD.findall(question):
        if word.startswith(_KOREAN_QUESTION):
            return True
        ending = word[len(korean_stem(word)) :]
        if ending and ending not in _KOREAN_NOUN_ENDINGS:
            return True
    return False


def _korean_words(question: str) -> int:
    """The topic words of `question`'s Korean words: one per two syllables of each word's stem, without
    its ending or particle (`korean_stem`); question words count none."""
    count = 0
    for word in HANGUL_WORD.findall(question):
        if word.startswith(_KOREAN_QUESTION):
            continue
        count += (len(korean_stem(word)) + 1) // 2
    return count


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CJK_RUN = re.compile(f"(?:{_CJK.pattern})+")
_OTHER_WORD = re.compile(r"[^\W\d_]+")


def _written_in_cjk(text: str) -> bool:
    """Whether `text` is mostly Chinese, Japanese or Korean: its CJK words (a run of CJK characters counts as
    one per two characters, a word's usual length) outnumber its other words. Counted by letters, "那 Android
    呢？" ("and on Android?") after a Chinese question read as a question in another script, asked afresh and
    refused; counted by characters, "what about 微信支付?" read as Chinese."""
    cjk = sum((len(run) + 1) // 2 for run in _CJK_RUN.findall(text))
    others = len(_OTHER_WORD.findall(_CJK.sub(" ", text)))
    return cjk > 0 and cjk > others


def condense(question: str, history: Sequence[Turn], lang: str | None = None) -> str:
    """The query to search for.

    A small model rewriting the question would cost a whole generation (and evict the KV cache the answer
    reuses), so this stays in code: a self-contained question is searched as is; a dependent follow-up is
    searched together with the user's previous question, which names the topic the pronoun points to.
    """
    question = question.strip()
    if not history:
        return question
    previous = next((t.text.strip() for t in reversed(history) if t.role == "user" and t.text.strip()), "")
    # The answer's own words: its lead ("This may not be exactly what you asked…") says nothing of the topic,
    # and the conversation service's history still has it where the pipeline's does not.
    answer = without_leads(next((t.text for t in reversed(history) if t.role == "assistant"), ""))
    if not needs_context(question, lang, said=f"{previous}\n{answer}"):
        return question
    if not previous or _written_in_cjk(previous) != _written_in_cjk(question):
        # A question in another script asks afresh: "Can I send a powerbank on its own?" after a Chinese
        # question was searched with it, and its "powerbank" read as a Latin name in Chinese text (refused).
        return question
    return f"{previous} {question}"
