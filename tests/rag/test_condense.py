"""Follow-up condensation is cheap, in code, and only with history."""

from __future__ import annotations

import pytest

from bot.domain import Turn
from bot.rag.condense import condense, needs_context

HISTORY = [Turn("user", "How do I reset my password?"), Turn("assistant", "Use the link [1].")]
CHINESE_HISTORY = [Turn("user", "怎么重置密码？"), Turn("assistant", "Use the link [1].")]


def test_no_history_means_no_change() -> None:
    assert condense("  and for admins?  ", ()) == "and for admins?"


def test_self_contained_question_is_searched_as_is() -> None:
    question = "How long does shipping to Canada take?"
    assert not needs_context(question)
    assert condense(question, HISTORY) == question


def test_dependent_follow_up_gets_the_previous_question() -> None:
    for follow_up in (
        "and for admins?",
        "what if it does not arrive?",
        "why?",
        # It names a topic of its own, but asks the previous question again for another case.
        "and what if I paid by PayPal?",
        "¿y si pagué con PayPal?",
        "et si j'ai payé par PayPal ?",
        "e se eu paguei com PayPal?",
    ):
        assert needs_context(follow_up)
        assert condense(follow_up, HISTORY) == f"How do I reset my password? {follow_up}"


def test_a_short_question_that_names_its_topic_stands_on_its_own() -> None:
    # Counting words (four or fewer meant a follow-up) searched "what is parcelly plus" together with the
    # previous question about passwords, and every Chinese question written without spaces.
    for question, lang in [
        ("what is parcelly plus", "en"),
        ("delete account?", "en"),
        ("我的包裹丢了怎么办？", "zh"),
        ("Comment changer la langue ?", "fr"),
        ("and how do I file a claim?", "en"),  # joined, it was answered from the previous question's FAQ
        ("¿Qué es Parcelly Plus?", "es"),
        ("qnto é o limite do pix à noite?", "pt"),
        ("en hoe vraag ik een vergoeding aan?", "nl"),  # "en" alone joins, as "and" does
        ("kalau lupa PIN gimana?", "id"),  # "kalau" alone is "if"
        ("apa itu LintasPay Premium?", "id"),  # "itu" also marks a topic
        ("cara hapus akun lintas gimana", "id"),
        ("siparişimi nasıl iptal ederim", "tr"),
        ("peki iade nasıl yapılır", "tr"),  # "peki" (well) alone only joins, as "and" does
        # Turkish openers only in Turkish: Spanish "ya" is "already", "su" its possessive, Portuguese "o" an
        # article.
        ("ya pagué y no llegó mi pedido", "es"),
        ("¿cuál es su horario de atención?", "es"),
        ("qual o prazo de entrega?", "pt"),
        # "còn" alone is also "left", and "nay" without its mark "today": these ask on their own.
        ("còn bao nhiêu GB data vậy", "vi"),
        ("hôm nay nạp thẻ được không", "vi"),
        ("muốn hủy gia hạn gói sen70 thì nhắn gì", "vi"),
        ("gói SEN90 giá bao nhiêu 1 tháng", "vi"),
        ("the con artist took my parcel", "en"),
        # Turkish pointing words point back in Turkish only, and in a question of few words: Indonesian "bu"
        # addresses a woman, Spanish "onda" is a wave, Polish "ona" "she"; "su" is water.
        ("Halo bu, paket saya belum datang", "id"),
        ("la onda de mi router no llega", "es"),
        ("ona zamówiła kuriera wczoraj", "pl"),
        ("bu ürünü otuz gün sonra orijinal faturayla iade edebilir miyim", "tr"),
        ("su ısıtıcısı garantisi kaç yıl", "tr"),
    ]:
        assert not needs_context(question, lang), question
        assert condense(question, HISTORY, lang) == question


def test_a_question_without_a_topic_or_pointing_back_is_a_follow_up() -> None:
    for question, lang in [
        ("how long?", "en"),
        ("what about express delivery?", "en"),
        ("and for business accounts?", "en"),
        ("in Belgium?", "en"),
        ("how much does it cost?", "en"),
        ("Wie lange dauert das?", "de"),
        ("Combien ça coûte ?", "fr"),
        ("Et pour la Belgique ?", "fr"),
        ("那退款呢？", "zh"),
        ("这个多少钱？", "zh"),
        # A Brazilian shop's trial: searched alone, both quoted the contact article's introduction.
        ("e se for no fim de semana?", "pt"),
        ("e quanto custa?", "pt"),
        ("e per i resi internazionali?", "it"),
        ("ma se pago con carta di credito?", "it"),
        ("en voor België?", "nl"),
        ("en als ik niet thuis ben?", "nl"),
        ("maar wat als ik met Bancontact betaal?", "nl"),
        ("en wat als het pakket beschadigd is?", "nl"),
        # An Indonesian e-wallet's trial: "kalau yang lewat bank?" after a question on transfers, and with the
        # stop words "terus?", "kalo lewat bank?" and "yang itu gimana" name no topic of their own.
        ("kalau yang lewat bank?", "id"),
        ("terus?", "id"),
        ("kalo lewat bank?", "id"),
        ("yang itu gimana", "id"),
        ("kalau yang pakai kartu kredit gimana?", "id"),
        ("terus kalau saldonya belum masuk juga?", "id"),
        ("bagaimana dengan transfer antar bank?", "id"),
        ("tapi kalo top up lewat alfamart?", "id"),
        ("akun tersebut bisa dihapus?", "id"),
        # A Vietnamese telecom's trial: "còn gói 5G thì sao?" and "vậy hủy gói đó thế nào" after a question on
        # a data package were searched alone (every syllable counts as a content word).
        ("còn gói 5G thì sao?", "vi"),
        ("con goi 5G thi sao", "vi"),
        ("vậy còn gói tháng?", "vi"),
        ("vậy hủy gói đó thế nào", "vi"),
        ("cái đó", "vi"),
        ("gói này giá bao nhiêu", "vi"),
    ]:
        assert needs_context(question, lang), question
        # A follow-up carries over the topic of a question in its own script (`test_a_question_in_another…`).
        history = CHINESE_HISTORY if lang == "zh" else HISTORY
        assert condense(question, history, lang) == f"{history[0].text} {question}"


def test_turkish_follow_ups_are_read_with_the_question_before_them() -> None:
    # A Turkish marketplace's trial: "bu ne kadar sürer" after a refund question was answered from the
    # shipping section. Each names words of its own, and none was read with the question before it.
    previous = "iade ettiğim ürünün parası ne zaman hesabıma geçer?"
    history = [Turn("user", previous), Turn("assistant", "5 iş günü içinde [1].")]
    for question in (
        "bu ne kadar sürer",
        "peki bunu nasıl iptal ederim",
        "o zaman kargo ücreti?",
        "ya taksitli alırsam?",
        "peki ya kapıda ödeme?",
        "şu sipariş",  # typed "su siparis" it is no follow-up: "su" is also water
        "bunun",
        "onu",
        "bunun iadesi ne kadar sürer",
    ):
        assert needs_context(question, "tr"), question
        assert condense(question, history, "tr") == f"{previous} {question}"


def test_arabic_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and what about …", "and if …", "well, and if …", "as for …", with or without the hamza: each names
    # words of its own, and was searched alone, without the refund it asks about.
    previous = "كم يوم ياخذ استرداد المبلغ بعد الارجاع؟"
    history = [Turn("user", previous), Turn("assistant", "خلال ٥ أيام عمل [1].")]
    for question in (
        "وماذا عن الطلبات المدفوعة كاش؟",
        "طيب وإذا دفعت بتابي؟",
        "طب ولو الطلب اتلغى قبل الشحن؟",
        "وبالنسبة للإمارات؟",
        "ووش عن البطاقات الائتمانية؟",
    ):
        assert needs_context(question, "ar"), question
        assert condense(question, history, "ar") == f"{previous} {question}"
    # "if" alone, and a question of its own, stand alone.
    for question in ("لو نسيت كلمة المرور كيف اغيرها؟", "كيف اغير عنوان التوصيل بعد الطلب؟"):
        assert not needs_context(question, "ar"), question


def test_greek_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and if …", "and for …", "and what about …", "but if …", with or without accents, in capitals and in
    # Greeklish: each names words of its own, and was searched alone, without the delivery it asks about.
    previous = "Πόσο καιρό κάνει η παράδοση στην Κρήτη;"
    history = [Turn("user", previous), Turn("assistant", "Έως 4 εργάσιμες ημέρες [1].")]
    for question in (
        "Κι αν πληρώσω με αντικαταβολή;",
        "και για τις διεθνείς παραγγελίες;",
        "και τι γίνεται με τις επιστροφές από το εξωτερικό;",
        "και εαν η παραγγελια ειναι πανω απο 30 κιλα;",
        "ΚΑΙ ΑΝ ΠΛΗΡΩΣΩ ΜΕ ΑΝΤΙΚΑΤΑΒΟΛΗ;",
        "αλλά αν έχει ανοιχτεί η συσκευασία;",
        "kai an plirwsw me antikatavoli?",
    ):
        assert needs_context(question, "el"), question
        assert condense(question, history, "el") == f"{previous} {question}"
    # "if" alone, "what about" without "and", a word that starts as "αν" does, and a question of its own,
    # stand alone.
    for question in (
        "αν ξεχάσω τον κωδικό πρόσβασης πώς τον αλλάζω;",
        "τι γίνεται με την επιστροφή χρημάτων της παραγγελίας μου;",
        "και ανοίγει το δέμα ο κούριερ μπροστά μου;",
        "πώς αλλάζω τη διεύθυνση αποστολής;",
    ):
        assert not needs_context(question, "el"), question


def test_persian_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and if …", "what if … ?", "what about … ?", "then what about … ?", typed on a Persian keyboard or an
    # Arabic one, with the zero-width non-joiner or without: each names words of its own, and was searched
    # alone, without the refund it asks about.
    previous = "بازگشت پول بعد از لغو سفارش چند روز طول می‌کشد؟"
    history = [Turn("user", previous), Turn("assistant", "حداکثر ۵ روز کاری [1].")]
    for question in (
        "و اگه با کارت اعتباری پرداخت کرده باشم؟",
        "ولی اگر سفارش ارسال شده باشه؟",
        "اگه با کیف پول پرداخت کنم چی؟",
        "در مورد سفارش‌های خارجی چی؟",
        "درباره سفارشهای خارجي چي؟",
        "پس هزینه ارسال چی؟",
        "و برای کارت‌های هدیه چطور؟",
    ):
        assert needs_context(question, "fa"), question
        assert condense(question, history, "fa") == f"{previous} {question}"
    # "if" alone, "what happens if", and a question of its own, stand alone.
    for question in (
        "اگه رمزم یادم بره چیکار کنم؟",
        "اگه سفارش رو لغو کنم چی میشه؟",
        "چطور سفارشم را لغو کنم؟",
        "هزینه ارسال به شهرستان چقدره؟",
    ):
        assert not needs_context(question, "fa"), question


def test_ukrainian_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and if …", "and what about …", "and also …", "but if …", in capitals, and with a Latin "i" as a
    # Russian keyboard types it: each names words of its own, and was searched alone, without the delivery
    # it asks about. ("а для …" is Russian's too, and was read so already.)
    previous = "Скільки часу займає доставка до Львова?"
    history = [Turn("user", previous), Turn("assistant", "До 3 робочих днів [1].")]
    for question in (
        "А якщо я оплачу карткою при отриманні?",
        "а як щодо міжнародних замовлень?",
        "а що з поверненням з-за кордону?",
        "і ще для юридичних осіб?",
        "i ще доставка до Польщі?",
        "а для юридичних осіб?",
        "але якщо посилку вже відкрили?",
        "А ЯКЩО ПОСИЛКА ВАЖЧА ЗА 30 КГ?",
    ):
        assert needs_context(question, "uk"), question
        assert condense(question, history, "uk") == f"{previous} {question}"
    # "if" alone, "what about" without "а", a word that starts as "як" does, another question opened with
    # "і ще", and a question of its own, stand alone.
    for question in (
        "якщо я забув пароль, як його змінити?",
        "що з моїм замовленням на сайті?",
        "а якість товару гарантована?",
        "і ще одне питання: як змінити пароль від акаунта?",
        "як змінити адресу доставки?",
    ):
        assert not needs_context(question, "uk"), question
    # Bulgarian "и ще" is "and will …": a question of its own.
    assert not needs_context("и ще получа ли парите си обратно до петък?", "bg")


def test_hebrew_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and if …", "and what if …", "and what about …", "and also …", "but if …", with a word's final letter
    # or without: each names words of its own, and was searched alone, without the delivery it asks about.
    previous = "כמה זמן לוקח משלוח לאילת?"
    history = [Turn("user", previous), Turn("assistant", "עד 4 ימי עסקים [1].")]
    for question in (
        "ואם אני משלם בכרטיס אשראי בתשלומים?",
        "ומה אם החבילה כבר נפתחה?",
        'ומה לגבי הזמנות מחו"ל?',
        "ולגבי משלוח לחיפה?",
        "ומה עם החזרות מחוץ לארץ?",
        "וגם למשלוחים בינלאומיים?",
        "אבל אם ההזמנה כבר נשלחה?",
        "ואמ אני משלם במזומן?",
    ):
        assert needs_context(question, "he"), question
        assert condense(question, history, "he") == f"{previous} {question}"
    # "if" alone, "what about" without "ו", a word that starts as "ואם" does, and a question of its own,
    # stand alone.
    for question in (
        "אם שכחתי את הסיסמה איך מאפסים אותה?",
        "מה עם ההזמנה שלי מהשבוע שעבר?",
        "ואמא שלי יכולה לאסוף את החבילה מהסניף?",
        "איך משנים את כתובת המשלוח?",
    ):
        assert not needs_context(question, "he"), question


def test_czech_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and what if …", "and if …", "and what about …", "and for …", "and in case …", with their marks or
    # without, in capitals, after an "ok", and in Slovak: each names words of its own, and was searched
    # alone, without the delivery it asks about.
    previous = "Jak dlouho trvá doručení do Brna?"
    history = [Turn("user", previous), Turn("assistant", "Do 2 pracovních dnů [1].")]
    for question in (
        "A co když zaplatím kartou při převzetí?",
        "a co kdyz zaplatim kartou pri prevzeti?",
        "a když nebudu doma?",
        "A pokud je balík těžší než 30 kg?",
        "ale co když už byl balík otevřený?",
        "a co zásilky do zahraničí?",
        "a jak je to s dobírkou?",
        "a jak je to u firemních zákazníků?",
        "a pro firemni zakazniky?",
        "a v případě poškozené zásilky?",
        "a do Německa?",
        "dobře, a co když nebudu doma?",
        "A CO KDYŽ ZÁSILKA NEDORAZÍ?",
        "a čo ak zaplatím kartou?",
        "a pre firmy?",
    ):
        assert needs_context(question, "cs"), question
        assert condense(question, history, "cs") == f"{previous} {question}"
    # "if" alone, "what if" and "how is it with" without "a", "and how do I …", a long "a co …" with a clause
    # of its own, a word that starts as one does, and a question of its own, stand alone.
    for question in (
        "když zapomenu heslo, jak ho změním?",
        "co když mi nepřijde SMS kód z banky?",
        "jak je to s vrácením peněz u zrušené objednávky?",
        "a jak změním adresu doručení v účtu?",
        "a co se stane, když zruším objednávku?",
        "a produkty z výprodeje se dají vrátit?",
        "a kdyžtak mi pošlete fakturu na email?",
        "jak dlouho trvá doručení do Ostravy?",
    ):
        assert not needs_context(question, "cs"), question


def test_swedish_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and if …", "but if …", "and what about …", "and for / to / with …", with their letters or without, in
    # capitals and after an "okej": each names words of its own, and was searched alone, without the delivery
    # it asks about.
    previous = "Hur lång är leveranstiden till Göteborg?"
    history = [Turn("user", previous), Turn("assistant", "Inom 2 arbetsdagar [1].")]
    for question in (
        "Och om jag betalar med kort?",
        "Men om paketet är skadat?",
        "och ifall jag inte hämtar ut det i tid?",
        "Och för företagskunder?",
        "och hur är det med returer?",
        "och vad gäller expressleverans?",
        "och när det gäller stora paket?",
        "och nar det galler foretag?",
        "okej, och om jag inte är hemma?",
        "OCH OM PAKETET INTE KOMMER?",
        "och till Norge?",
    ):
        assert needs_context(question, "sv"), question
        assert condense(question, history, "sv") == f"{previous} {question}"
    # "if" alone, "how is it with" without "och", "and how do I …", "and what happens if …", a word that
    # starts as one does, and a question of its own, stand alone.
    for question in (
        "om jag glömmer lösenordet, hur byter jag det?",
        "hur är det med returrätten för reavaror?",
        "och hur ändrar jag leveransadressen i appen?",
        "och vad händer om jag avbryter beställningen?",
        "och förseningar ger rätt till ersättning?",
        "hur lång är leveranstiden till Malmö?",
    ):
        assert not needs_context(question, "sv"), question


def test_hungarian_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and if …", "but if …", "and what about …", "and the …?", with their marks or without, in capitals and
    # after an "oké": each names words of its own, and was searched alone, without the delivery it asks about.
    previous = "Mennyi ideig tart a szállítás Budapestre?"
    history = [Turn("user", previous), Turn("assistant", "2 munkanapon belül [1].")]
    for question in (
        "És ha kártyával fizetek átvételkor?",
        "es ha nem vagyok otthon?",
        "De ha a csomag sérült?",
        "és mi van, ha nem veszem át időben?",
        "és mi van a külföldi szállítással?",
        "és mi a helyzet a céges ügyfelekkel?",
        "és a külföldi szállítás?",
        "és az expressz szállítás?",
        "oké, és ha nem vagyok otthon?",
        "ÉS HA NEM ÉRKEZIK MEG?",
    ):
        assert needs_context(question, "hu"), question
        assert condense(question, history, "hu") == f"{previous} {question}"
    # "if" alone, "what if" without "és", "and what happens if …", "and the …" with a question of its own, a
    # word that starts as one does, and a question of its own, stand alone.
    for question in (
        "ha elfelejtem a jelszavamat, hogyan változtatom meg?",
        "mi van, ha nem kapok SMS-kódot a banktól?",
        "és mi történik, ha lemondom a rendelést?",
        "és a jelszavamat hogyan tudom megváltoztatni?",
        "és habár kifizettem, mégsem jött visszaigazolás?",
        "mennyi ideig tart a szállítás Debrecenbe?",
    ):
        assert not needs_context(question, "hu"), question


def test_polish_follow_ups_are_read_with_the_question_before_them() -> None:
    # "and if …", "and what if …", "and what about …", "and for / to / in case of …", with their letters or
    # without, in capitals and after an "ok": each names words of its own, and was searched alone, without the
    # delivery it asks about.
    previous = "Ile trwa dostawa do Warszawy?"
    history = [Turn("user", previous), Turn("assistant", "Do 2 dni roboczych [1].")]
    for question in (
        "A jeśli zapłacę kartą przy odbiorze?",
        "a jesli nie bede w domu?",
        "A jeżeli paczka jest uszkodzona?",
        "a gdyby kurier nie przyszedł?",
        "ale co jeśli paczka zaginie?",
        "a co z przesyłkami za granicę?",
        "a jak jest z płatnością za pobraniem?",
        "a jak to wygląda w przypadku firm?",
        "a w przypadku uszkodzonej przesyłki?",
        "a dla firm?",
        "ok, a jeśli nie będę w domu?",
        "A JEŚLI PACZKA NIE DOTRZE?",
    ):
        assert needs_context(question, "pl"), question
        assert condense(question, history, "pl") == f"{previous} {question}"
    # "if" alone, "what if" and "how is it with" without "a", "and how do I …", "and what happens, if …", a
    # word that starts as one does, and a question of its own, stand alone.
    for question in (
        "jeśli zapomnę hasła, jak je zmienić?",
        "co jeśli nie dostanę kodu SMS z banku?",
        "jak jest z reklamacją towaru kupionego na wyprzedaży?",
        "a jak zmienić adres dostawy na koncie?",
        "a co się stanie, jeśli anuluję zamówienie?",
        "a dlaczego moja paczka stoi w sortowni od tygodnia?",
        "a dokumenty do reklamacji gdzie wysłać?",
        "ile trwa dostawa do Krakowa?",
    ):
        assert not needs_context(question, "pl"), question


def test_korean_follow_ups_are_read_with_the_question_before_them() -> None:
    # A Korean trial: counted as pairs of syllables, every Korean question named a topic of its own, and
    # none of these was read with the question before it ("이거 환불 받을수 있어요?" quoted the coupon rules).
    # A question with a topic word and a verb of its own stands alone (`test_a_korean_question_with_its…`).
    for previous, question in [
        ("새벽배송 배송비 얼마에요?", "택배배송은요?"),  # "and for parcel delivery?"
        ("새벽배송 배송비 얼마에요?", "택배는?"),
        ("어제 시킨 딸기 다 물러서 왔어요", "이거 환불 받을수 있어요?"),  # "can I get a refund for this?"
        ("강아지 사료도 팔아요?", "그럼 고양이 간식은요?"),
        ("바구니패스 첫달 무료에요?", "그럼 해지는 어떻게 해요?"),  # "then how do I cancel?"
        ("새벽배송 배송비 얼마에요?", "무료에요?"),  # "is it free?": the copula is no verb of its own
        ("우유가 안 왔어요", "어떻게 해요?"),
        ("우유가 안 왔어요", "가능한가요?"),  # an ending alone, as it is searched (`korean_stem`)
    ]:
        history = [Turn("user", previous), Turn("assistant", "답변 [1]")]
        assert needs_context(question, "ko"), question
        assert condense(question, history, "ko") == f"{previous} {question}"


def test_a_korean_question_that_names_its_topic_stands_on_its_own() -> None:
    korean = [Turn("user", "새벽배송 배송비 얼마에요?"), Turn("assistant", "답변 [1]")]
    for question in (
        "무통장입금 되나요?",  # a compound: 무통장입금 counts as the words it is made of
        "강아지 사료도 팔아요?",
        "세금계산서는 언제 나와요?",
        "탈퇴하고 싶은데 어떻게 해요",
        "쿠폰 두장 같이 쓸수있나요",
        "주문취소 몇시까지 가능??",
    ):
        assert not needs_context(question, "ko"), question
        assert condense(question, korean, "ko") == question


def test_a_korean_question_with_its_own_verb_stands_alone() -> None:
    # After "새벽배송 배송비 얼마예요?" both were searched together with it, as "How do I get a refund?"
    # is not. "해지는 어떻게 해요?" (how do I cancel?) after a question on a membership reads the same, and
    # stands alone too: telling a new aspect of what was said from a new topic takes more than its words.
    fee = [Turn("user", "새벽배송 배송비 얼마예요?"), Turn("assistant", "답변 [1]")]
    for question in (
        "환불은 어떻게 하나요?",
        "환불 가능한가요?",
        "환불 할 수 있나요?",
        "해지는 어떻게 해요?",
        "언제까지 신고해야 돼요?",
        "어디서 문의해요?",
    ):
        assert not needs_context(question, "ko"), question
        assert condense(question, fee, "ko") == question
    assert condense("How do I get a refund?", HISTORY, "en") == "How do I get a refund?"


def test_the_language_is_detected_when_not_given() -> None:
    assert not needs_context("what is parcelly plus")
    assert needs_context("那退款呢？")


def test_history_without_user_turns() -> None:
    assert condense("and this?", [Turn("assistant", "hello")]) == "and this?"


def test_a_pronoun_in_a_question_that_names_its_own_topic_points_nowhere() -> None:
    # "how much does it cost to send a small parcel?" after a question about a locker door was searched
    # with it, and answered with how to close the door.
    locker = [Turn("user", "the locker door won't open, my code doesn't work"), Turn("assistant", "Push it.")]
    for question in (
        "how much does it cost to send a small parcel?",
        "how long do you keep a parcel in the locker before it goes back?",
        "How long does it take to get a refund?",
    ):
        assert not needs_context(question, "en"), question
        assert condense(question, locker, "en") == question
    for question in ("can I get a refund for it?", "how do I delete my account and all data on it?"):
        assert needs_context(question, "en"), question
        assert condense(question, locker, "en") == f"{locker[0].text} {question}"


def test_a_personal_pronoun_may_stand_for_what_the_message_names() -> None:
    # A Russian trial: "заказ VM-10293847 где он?" (my order …, where is it?) was searched with the previous
    # question, on a login code, and answered from it: its "он" is the order.
    login = [Turn("user", "не могу войти в акк, смс не приходит"), Turn("assistant", "Проверьте номер. [1]")]
    for question, lang in [
        ("заказ VM-10293847 где он?", "ru"),  # a reference the message quotes
        ("как отменить заказ если он уже в пути", "ru"),  # the order, in the clause before
        ("товар не подошел, можно его вернуть?", "ru"),
        ("my parcel is late, where is it?", "en"),
        ("how do I cancel an order if it has shipped?", "en"),
    ]:
        assert not needs_context(question, lang), question
        assert condense(question, login, lang) == question
    for question, lang in [
        ("сколько он стоит?", "ru"),
        ("а он где?", "ru"),
        ("можно его вернуть?", "ru"),
        ("долго он будет идти?", "ru"),
        ("can I return it if it's broken?", "en"),
    ]:
        assert needs_context(question, lang), question
        assert condense(question, login, lang) == f"{login[0].text} {question}"


def test_one_word_the_previous_exchange_does_not_hold_is_a_new_question() -> None:
    # A Russian trial: "гарантия" (warranty) after a question on parcel lockers was searched with it, and got
    # the lockers' answer again.
    lockers = [
        Turn("user", "сколько хранится заказ в постамате"),
        Turn("assistant", "В постамате заказ хранится 3 дня, продлить нельзя. [1]"),
    ]
    assert not needs_context("гарантия", "ru", said="сколько хранится заказ в постамате")
    assert condense("гарантия", lockers, "ru") == "гарантия"
    assert condense("промокод", lockers, "ru") == "промокод"
    # One the answer holds asks about it; words besides it ask the previous question again, as before.
    assert condense("продлить?", lockers, "ru") == "сколько хранится заказ в постамате продлить?"
    assert (
        condense("а продлить можно?", lockers, "ru") == "сколько хранится заказ в постамате а продлить можно?"
    )
    shipping = [
        Turn("user", "How much is shipping to France?"),
        Turn("assistant", "Shipping to France and Belgium costs 5 euros. [1]"),
    ]
    assert condense("Belgium?", shipping, "en") == "How much is shipping to France? Belgium?"
    assert condense("refunds", shipping, "en") == "refunds"
    # With an article or a possessive, as typed in a search box: "the door" after changing an address.
    assert condense("the door", shipping, "en") == "the door"
    assert condense("my refund", shipping, "en") == "my refund"
    assert condense("the door?", shipping, "en") == "How much is shipping to France? the door?"
    for follow_up in ("and Germany?", "in Germany?", "how long?"):
        assert condense(follow_up, shipping, "en") == f"How much is shipping to France? {follow_up}"
    # Korean and Chinese alike: "환불" (refund) after the delivery fee was searched with it.
    fee = [Turn("user", "배송비"), Turn("assistant", "40,000원 이상 주문하시면 새벽배송비가 무료입니다. [1]")]
    assert condense("환불", fee, "ko") == "환불"
    assert condense("무료?", fee, "ko") == "배송비 무료?"
    refund = [Turn("user", "怎么退款？"), Turn("assistant", "退款会在五个工作日内退回原付款方式。[1]")]
    assert condense("发票", refund, "zh") == "发票"
    assert condense("那发票呢？", refund, "zh") == "怎么退款？ 那发票呢？"
    # Without the previous answer's words (a caller that has none), one word is a follow-up as before.
    assert needs_context("гарантия", "ru")


def test_one_word_with_a_question_mark_asks_the_previous_question_again() -> None:
    # A bare word is typed as into a search box; with a question mark it is the classic one-word follow-up,
    # which was searched alone after an answer that did not name it.
    for previous, answer, question, lang in [
        ("How much is shipping to France?", "Shipping to France costs 5 euros. [1]", "Belgium?", "en"),
        ("How much is shipping to France?", "Shipping to France costs 5 euros. [1]", "express?", "en"),
        ("When do you deliver?", "We deliver on weekdays. [1]", "Saturday?", "en"),
        ("Liefert ihr nach Deutschland?", "Ja, innerhalb von 2 Tagen. [1]", "Österreich?", "de"),
        ("Livrez-vous en France ?", "Oui, en 2 jours. [1]", "Belgique ?", "fr"),
        ("Bezorgen jullie in Nederland?", "Ja, binnen 2 dagen. [1]", "België?", "nl"),
        ("你们用什么快递？", "我们默认使用中通快递。[1]", "顺丰？", "zh"),
        ("Доставляете в Россию?", "Да, за 3 дня. [1]", "Казахстан?", "ru"),
    ]:
        history = [Turn("user", previous), Turn("assistant", answer)]
        assert condense(question, history, lang) == f"{previous} {question}", question
    lockers = [Turn("user", "сколько хранится заказ в постамате"), Turn("assistant", "3 дня. [1]")]
    assert condense("гарантия?", lockers, "ru") == "сколько хранится заказ в постамате гарантия?"
    fee = [Turn("user", "배송비"), Turn("assistant", "40,000원 이상 무료입니다. [1]")]
    assert condense("환불", fee, "ko") == "환불"
    assert condense("환불?", fee, "ko") == "배송비 환불?"


def test_a_question_in_another_script_asks_afresh() -> None:
    # "Can I send a powerbank on its own?" after "我的包裹丢了怎么办？" was searched joined to it, and its
    # "powerbank" read as a Latin name in Chinese text: refused as naming something unknown.
    chinese = [Turn("user", "我的包裹丢了怎么办？"), Turn("assistant", "A parcel is considered lost… [1]")]
    assert needs_context("Can I send a powerbank on its own?", "en")
    assert (
        condense("Can I send a powerbank on its own?", chinese, "en") == "Can I send a powerbank on its own?"
    )
    assert condense("那退款呢？", HISTORY, "zh") == "那退款呢？"
    # The same script still carries the topic over, whatever the language.
    assert condense("那退款呢？", chinese, "zh") == "我的包裹丢了怎么办？ 那退款呢？"
    assert condense("Und wie lange?", HISTORY, "de") == "How do I reset my password? Und wie lange?"
    # A product's Latin name in a Chinese follow-up keeps it Chinese: "那 Android 呢？" after an iPhone
    # question was asked afresh, and refused.
    iphone = [Turn("user", "iPhone 上 app 一关掉就不自动备份了"), Turn("assistant", "Open Settings… [1]")]
    assert condense("那 Android 呢？", iphone, "zh") == "iPhone 上 app 一关掉就不自动备份了 那 Android 呢？"
    # And a Chinese name in an English follow-up keeps it English.
    paying = [Turn("user", "How do I pay for my order?"), Turn("assistant", "By card or PayPal. [1]")]
    assert condense("what about 微信支付?", paying, "en") == "How do I pay for my order? what about 微信支付?"


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        # "and in / with / to …" opening a question of its own, with a question word after it: each was read
        # with the question before it, and searched mixed with the old topic.
        ("a w jakich godzinach pracuje infolinia?", "pl"),
        ("a z jakiego powodu moja paczka została zwrócona do nadawcy?", "pl"),
        ("a po jakim czasie mogę złożyć reklamację?", "pl"),
        ("och i vilken butik kan jag hämta mitt paket?", "sv"),
        ("och på vilket sätt kan jag byta leveransadress?", "sv"),
        # Hungarian's "és a …" typed without its accent is Spanish's "es a …".
        ("es a domicilio el envío?", "es"),
        ("es a partir de mañana?", "es"),
    ],
)
def test_an_opening_of_a_follow_up_before_a_question_of_its_own_or_in_another_language_stands_alone(
    question: str, lang: str
) -> None:
    assert not needs_context(question, lang)
