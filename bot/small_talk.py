"""Messages that are only a greeting, thanks, goodbye or "ok" (shipped languages): nothing to look up."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from itertools import product
from typing import Literal

from bot.arabic import arabic_folded
from bot.chinese import to_simplified
from bot.unicode import MARKS, has_words, ukrainian_typed, without_accents

SmallTalk = Literal["greeting", "thanks", "goodbye", "ok"]

# Whole phrases, lower-cased, as customers type them. A message is small talk only when these (and the
# fillers below) make up all of it: "hi, where is my parcel?" is a question.
_PHRASE_TEXT: dict[SmallTalk, str] = {
    "greeting": "hi|hello|hey|hiya|howdy|greetings|good morning|good afternoon|good evening"
    "|how are you|how are you doing|how's it going|how is it going|what's up|wie geht's|wie gehts"
    "|wie geht es dir|wie geht es ihnen|ça va|ca va|comment ça va|comment allez-vous|qué tal|que tal"
    "|cómo estás|como estas|как дела|как ты|你好吗|您好吗|最近怎么样|お元気ですか|元気ですか"
    "|morning|evening|yo|hallo|guten morgen|guten tag|guten abend|servus|moin|grüß gott|grüezi"
    "|bonjour|salut|bonsoir|coucou|hola|buenos días|buenos dias|buenas tardes|buenas noches"
    "|buenas|привет|здравствуйте|здравствуй|добрый день|доброе утро|добрый вечер"
    # A Russian trial's "ку" (hi, as Russians chat) was refused as a question.
    "|ку|здрасте|здрасьте|приветик|приветствую|доброго дня|доброго времени суток|алло"
    "|你好|您好|嗨|哈喽|早上好|下午好|晚上好|早|在吗|在么"
    # Taiwan's and Hong Kong's forms (written as Taiwan writes them; compared in Simplified characters):
    # a Taiwanese trial's "哈囉", "感恩", "謝啦", "3Q" and "掰掰" were refused, and "掰掰" after an answer
    # read as a follow-up and answered again. 安安 greets, 晚安 takes leave at night.
    "|哈囉|哈羅|嗨嗨|安安|早安|午安"
    "|こんにちは|こんばんは|おはよう|おはようございます"
    "|oi|oie|olá|ola|opa|bom dia|boa tarde|boa noite|tudo bem|tudo bom|e aí|e ai|eai|como vai|alô|alo"
    "|안녕하세요|안녕|안녕하십니까"
    # A Korean trial: each of these was refused as a question. Customers chat in abbreviations and cute
    # endings ("ㅇㅋ" for ok, "ㄱㅅ" for thanks, "…당", "…여" for "…다", "…요").
    "|안녕하세여|안녕하세용|안뇽|하이|하이요|ㅎㅇ|헬로|여보세요|저기요"
    "|buongiorno|buon giorno|buonasera|buona sera|buon pomeriggio|salve|ehi|ehilà|ehila|come stai|come sta"
    "|come va|tutto bene"
    "|hoi|hoii|hee|goedemorgen|goedemiddag|goedenavond|goedendag|goeiemorgen|goeiemiddag|goeienavond"
    "|goeiedag|hoe gaat het|hoe gaat het met je|hoe is het|hoe is het met je"
    # Indonesian: an Indonesian e-wallet's trial's "halo" was refused as a question, and handed to a person.
    "|halo|helo|haloo|hai|haii|hay|hei|pagi|siang|sore|malam|selamat pagi|selamat siang|selamat sore"
    "|selamat malam|met pagi|met siang|met sore|met malam|permisi|apa kabar|assalamualaikum"
    "|assalamu'alaikum|asalamualaikum|assalamualaikum wr wb|salam"
    # Turkish: a Turkish marketplace's trial's "merhaba" got the English refusal. Compared with Turkish
    # letters folded (`_fold`), so "günaydın" is "gunaydin" too; "sa" is how Turkish chat writes "selamün
    # aleyküm".
    "|merhaba|merhabalar|meraba|mrb|mrhb|mrblar|selam|selamlar|slm|sa|selamün aleyküm|selamun aleykum"
    "|selamünaleyküm|günaydın|tünaydın|hayırlı günler|nasılsınız|nasılsın|naber|ne haber"
    # Thai, written without spaces: a phrase and the particles after it are one run ("หวัดดีค่ะ", "ขอบคุณมาก
    # ครับ"), read phrase by phrase (`_kinds`); the polite particles are fillers (`_FILLERS_TEXT`).
    "|หวัดดี|ดีครับ|ดีค่ะ|ดีจ้า|ฮัลโหล|ฮาโหล|อรุณสวัสดิ์|สวัสดีตอนเช้า|สบายดีไหม|สบายดีมั้ย|เป็นไงบ้าง"
    # Hindi, in Devanagari, and in Latin letters as many Indian customers type it ("dhanyavad", "theek hai").
    "|हेलो|हैलो|हलो|हाय|प्रणाम|सुप्रभात|शुभ प्रभात|गुड मॉर्निंग|शुभ संध्या|आप कैसे हैं|कैसे हैं|क्या हाल है"
    "|kaise ho|kaise hain|kya haal hai"
    # Arabic (the Gulf, Egypt, the Levant), compared folded (`_arabic_folded`: "أهلاً" is "اهلا"), and in Latin
    # letters as many write it ("marhaba", "ahlan"; "salam" is above).
    "|السلام عليكم|سلام عليكم|السلام عليكم ورحمة الله|السلام عليكم ورحمة الله وبركاته|وعليكم السلام|مرحبا"
    "|مرحبتين|مراحب|اهلا|اهلين|اهلا وسهلا|اهلا بك|هلا|هلا والله|هلا وغلا|هلو|هاي|صباح الخير|صباح النور"
    "|مساء الخير|مساء النور|كيف الحال|كيف حالك|كيفك|كيفكم|شلونك|شلونكم|ازيك|ازيكم|عامل ايه|اخبارك ايه|اخبارك"
    "|شو الاخبار|تحياتي|salam alaikum|salamu alaikum|assalamu alaikum|as salamu alaikum|marhaba|marhaban"
    "|ahlan|ahlen|ahlain|hala|hala wallah|sabah el kheir|sabah al khair|sabah elkheir|masa el kheir"
    "|masa al khair|kifak|shlonak|ezayak|izzayak"
    # Greek, compared without its accents and with a word's final "ς" as "σ" (`_greek_folded`: "ΚΑΛΗΜΕΡΑ",
    # "καλημερα" and "καλημέρα" are one), and in Greeklish as many Greek customers type it ("kalimera",
    # "kalispera"). "γεια" and "γεια σας" greet alone and take leave with thanks (`_HELLO_OR_BYE_TEXT`). A
    # Greek trial's "γεια σας" was refused as a question, and "kalispera" quoted an unrelated passage.
    "|καλημέρα|καλησπέρα|χαίρετε|χαίρεται|τι κάνετε|τι κάνεις|τι γίνεται|πώς είστε|πώς είσαι|καλώς σας βρήκα"
    "|kalimera|kalhmera|kalispera|kalhspera|xairete|xerete|herete|ti kanete|ti kaneis|ti kanis|ti ginetai"
    # Persian, compared folded as Arabic is (`_arabic_folded`: a Persian keyboard's "ی" and "ک" are an
    # Arabic one's "ي" and "ك", and a zero-width non-joiner is a space), and in Latin letters as many Iranians
    # type it ("salam" is above, "dorood"). "سلام" greets as in Arabic; "خسته نباشید" and "وقت بخیر" greet
    # alone and take leave with thanks (`_HELLO_OR_BYE_TEXT`).
    "|درود|درود بر شما|صبح بخیر|صبح به خیر|صبحتون بخیر|ظهر بخیر|عصر بخیر|عصرتون بخیر|حالتون خوبه|خوب هستید"
    "|خوبید|چطورید|چطوری|حال شما چطوره|dorood|dorud|sobh bekheir|sobh bekheyr|sobh bekhair|asr bekheir"
    # Ukrainian, with or without the apostrophe and with a Latin "i" for "і" as a Russian keyboard types it
    # (`ukrainian_typed`: "привiт" is "привіт"). "Доброго дня" greets as in Russian, above.
    "|привіт|привітик|привітики|вітаю|вітання|добрий день|добридень|доброго ранку|добрий ранок"
    "|доброго вечора|добрий вечір|здрастуйте|здрастуй|здоровенькі були|як справи|як ся маєте"
    # Hebrew, with its final letters or without (`_hebrew_folded`: "שלומ" is "שלום"), and in Latin letters as
    # many Israelis type it ("shalom" is below, "ma nishma"). "שלום", "ערב טוב", "יום טוב", "שבוע טוב", "שבת
    # שלום" and "חג שמח" greet alone and take leave with thanks (`_HELLO_OR_BYE_TEXT`).
    "|היי|הייי|הי|הלו|אהלן|בוקר טוב|בוקר אור|מה נשמע|מה קורה|מה שלומך|מה שלומכם|מה המצב|מה העניינים"
    "|מה איתך|ma nishma|ma kore|boker tov",
    "thanks": "thanks|thank you|thx|ty|cheers|many thanks|thanks a lot|thank you very much"
    "|thank you so much|thanks so much|much appreciated|appreciated|danke|danke schön"
    "|dankeschön|vielen dank|danke sehr|merci|merci beaucoup|merci bien|gracias"
    "|muchas gracias|mil gracias|спасибо|большое спасибо|спс"
    "|спасибо большое|спасибо огромное|огромное спасибо|спасибки|спасибочки|пасиб|благодарю"
    "|谢谢|谢谢你|谢谢您|多谢|感谢|非常感谢|谢了"
    "|感恩|謝啦|3q|感謝您|感謝你|謝謝你們|多謝你|萬分感謝"
    "|ありがとう|ありがとうございます|ありがとうございました|どうも"
    # A Japanese trial's "ありがとうございます、助かりました" and "よろしくお願いします" were refused as
    # questions.
    "|ありがと|どうもありがとう|助かりました|助かります|よろしくお願いします|よろしくお願いいたします"
    "|obrigado|obrigada|muito obrigado|muito obrigada|obg|brigado|brigada|valeu|vlw|agradeço|agradeco"
    "|grato|grata|감사합니다|고맙습니다|감사해요|고마워요|고마워|감사"
    "|감사합니당|감사해용|감사해여|감사요|감사드려요|감사드립니다|고맙습니당|땡큐|땡스|ㄱㅅ|ㄳ|ㄱㅅㄱㅅ"
    "|grazie|grazie mille|mille grazie|grazie tante|grazie tanto|grazie infinite|grazie ancora|grz"
    "|ti ringrazio|la ringrazio|vi ringrazio|grazie per l'aiuto|grazie dell'aiuto|grazie di tutto"
    "|gentilissimo|gentilissima"
    "|dank je|dank je wel|dankje|dankjewel|dank u|dank u wel|dankuwel|bedankt"
    "|hartelijk dank|hartelijk bedankt|hartstikke bedankt|super bedankt|alvast bedankt|thanks voor je hulp"
    "|bedankt voor je hulp|bedankt voor de hulp|bedankt voor het antwoord|dank voor je hulp"
    "|makasih|makasi|makasii|makasih banyak|terima kasih|terimakasih|trima kasih|trimakasih"
    "|terima kasih banyak|mksh|mks|tq|tengkyu|thank you ya|makasih atas bantuannya|makasih bantuannya"
    "|terima kasih atas bantuannya"
    "|terima kasih atas bantuan anda|makasih infonya|terima kasih infonya|terima kasih atas informasinya"
    "|makasih informasinya|matur nuwun|hatur nuhun"
    # Turkish: the trial's "teşekkürler" and "sağol" got the English refusal; "tşk" and "tesekkurler" are
    # how customers type it in a hurry or without Turkish letters.
    "|teşekkürler|teşekkür ederim|teşekkür ederiz|teşekkürler ederim|teşekkür|tşk|tşk ederim|tşkler|tşkrler"
    "|tşkr|tşkl"
    "|sağol|sağ ol|sağolun|sağ olun|saol|saolun|sağolasın|eyvallah|eyv|mersi|eline sağlık|elinize sağlık"
    "|emeğinize sağlık|yardımınız için teşekkürler|yardımınız için teşekkür ederim|ilginiz için teşekkürler"
    "|ilginiz için teşekkür ederim|bilgi için teşekkürler|bilgilendirme için teşekkürler"
    "|ขอบคุณ|ขอบใจ|ขอบพระคุณ|แต๊งกิ้ว|แต๊งกิว|แต้งกิ้ว|ขอบคุณที่ช่วย|ขอบคุณที่ช่วยเหลือ|ขอบคุณสำหรับข้อมูล"
    "|ขอบคุณสำหรับคำตอบ|ขอบคุณสำหรับความช่วยเหลือ|ขอบคุณที่ให้ข้อมูล|ขอบคุณข้อมูล"
    "|धन्यवाद|शुक्रिया|थैंक यू|थैंक्यू|थैंक्स|आभार|मदद के लिए धन्यवाद|मदद के लिए शुक्रिया|जानकारी के लिए धन्यवाद"
    "|जानकारी के लिए शुक्रिया|जवाब के लिए धन्यवाद|dhanyavad|dhanyavaad|dhanyawad|dhanyawaad|shukriya|sukriya"
    "|thanku|thank u"
    "|شكرا|وشكرا|شكرا جزيلا|شكرا على المساعدة|شكرا على المعلومات|شكرا على المعلومة|شكرا على الرد"
    "|شكرا للمساعدة|شكرا ع المساعدة|الف شكر|مشكور|مشكورة|مشكورين|يعطيك العافية|يعطيكم العافية"
    "|الله يعطيك العافية|الله يعطيكم العافية|تسلم|تسلمي|تسلمين|تسلمو|تسلموا|يسلمو|يسلموا|تسلم ايدك"
    "|تسلم يدك|متشكر|متشكرة|متشكرين|ميرسي|مرسي|جزاك الله خير|جزاك الله خيرا|جزاكم الله خير"
    "|جزاكم الله خيرا|بارك الله فيك|بارك الله فيكم"
    "|ثانكس|ثانكيو|ثانك يو|shukran|shokran|shukran jazeelan|shokran gazeelan|mashkoor|mashkour|mashkur|tislam"
    "|teslam|yislamo|ya3tik el3afye|ya3tik al3afia|yaatik al afia"
    # Greek: the trial's "ευχαριστώ πολύ!" was refused as a question. "Να 'στε καλά" (bless you) thanks, as
    # "يعطيك العافية" does.
    "|ευχαριστώ|ευχαριστούμε|σας ευχαριστώ|σε ευχαριστώ|σ' ευχαριστώ|σ'ευχαριστώ|χίλια ευχαριστώ"
    "|ευχαριστώ για τη βοήθεια|ευχαριστώ για την βοήθεια|ευχαριστώ για την ενημέρωση"
    "|ευχαριστώ για την απάντηση|ευχαριστώ για τις πληροφορίες|ευχαριστώ εκ των προτέρων|να 'στε καλά"
    "|να'στε καλά|να στε καλά|νάστε καλά|να είστε καλά|να 'σαι καλά|να'σαι καλά|να σαι καλά|νάσαι καλά|μερσί"
    "|efxaristw|efxaristo|eyxaristw|eyxaristo|euxaristw|euxaristo|efharistw|efharisto|eyharistw|eyharisto"
    "|euharistw|euharisto|eucharisto|efcharisto|eycharisto|efxaristoume|eyxaristoume|euxaristoume"
    "|efharistoume|eyxaristoyme|euxaristoyme|efxaristoyme|na ste kala|naste kala|na'ste kala|na sai kala"
    "|nasai kala|na se kala|nase kala"
    # Persian: "دستتون درد نکنه" (may your hands not hurt) and "دمت گرم" thank, as "تسلم ايدك" does; "مرسی" is
    # Arabic's "مرسي" above, folded.
    "|ممنون|ممنونم|ممنونیم|متشکرم|متشکر|متشکریم|مچکرم|مچکر|تشکر|با تشکر|سپاس|سپاسگزارم|سپاس‌گزارم"
    "|دستتون درد نکنه|دست‌تون درد نکنه|دستت درد نکنه|دست شما درد نکنه|دستتون درد نکند|لطف کردید|لطف کردین"
    "|لطف دارید|دمت گرم|دمتون گرم|قربونت|قربون شما|ممنون از شما|ممنونم از شما|مرسی از شما|ممنون از راهنمایی"
    "|ممنون از راهنماییتون|ممنون از راهنمایی‌تون|ممنون بابت راهنمایی|مرسی از راهنمایی|مرسی بابت راهنمایی"
    "|ممنون از پاسخ|ممنون از پاسختون|ممنون از کمکتون|ممنون از کمک‌تون"
    "|mamnoon|mamnun|mamnoonam|mamnunam|motshakeram|moteshakeram|mochakeram|sepas|sepasgozaram"
    "|dastetun dard nakone|dasteton dard nakone|dastet dard nakone|lotf kardid|damet garm"
    # Ukrainian: "дуже дякую", "щиро дякую" and "дякую вам" with their fillers; "спасибі" as many Ukrainians
    # say it, "дякс" as they chat.
    "|дякую|дякуємо|дякс|дяки|дякі|спасибі|красно дякую|ще раз дякую|заздалегідь дякую|наперед дякую"
    "|дякую за допомогу|дякую за відповідь|дякую за інформацію|дякую за інфо|дякую за консультацію"
    "|дякую за роз'яснення|вдячний|вдячна|мерсі"
    # Hebrew: "תודה רבה אחי" with its filler; "תנקס" as Israelis chat, "יישר כוח" (more strength) thanks as
    # "يعطيك العافية" does.
    "|תודה|ותודה|תודה רבה|תודות|אלף תודות|תודה ענקית|תודה מראש|תודה על העזרה|תודה על המידע|תודה על התשובה"
    "|תודה על הסבלנות|מודה לך|מודה לכם|תנקס|תנקיו|סנקיו|יישר כוח|ישר כוח|ישר כח|toda|toda raba|toda rabba"
    "|todah|todah rabah|todah raba",
    # Declining more help ("No, thanks", the answer to "anything else?") ends the chat as a goodbye does; a
    # bare "no" is left out, since it may mean "no, that did not help".
    "goodbye": "bye|goodbye|bye bye|see you|see ya|have a nice day|tschüss|tschüs"
    "|auf wiedersehen|au revoir|bonne journée|bonne journee|adiós|adios|hasta luego"
    "|пока|до свидания|再见|拜拜|さようなら|またね"
    "|всего доброго|всего хорошего|до встречи"
    "|no thanks|no thank you|no thx|nope thanks|that's all|that is all|that's it|nothing else|i'm good"
    "|im good|all good|nein danke|nichts weiter|non merci|c'est tout|no gracias|eso es todo|нет спасибо"
    "|больше ничего|不用了|不用|没有了|没事了|大丈夫です|結構です"
    "|掰掰|掰|拜|晚安|再會|下次見|先這樣|就這樣"
    "|tchau|tchauzinho|até logo|ate logo|até mais|ate mais|falou|flw|adeus|não obrigado|nao obrigado"
    "|não obrigada|nao obrigada|só isso|so isso|é só isso|e so isso|era só isso|era so isso"
    "|안녕히 계세요|안녕히 가세요|수고하세요|됐어요|괜찮아요"
    "|안녕히계세요|안녕히가세요|수고하세여|수고하셨습니다|수고하셨어요|수고요|바이|바이바이|빠이"
    "|ciao ciao|arrivederci|arrivederla|a presto|alla prossima|a dopo|ci vediamo|buona giornata|buona serata"
    "|buonanotte|buona notte|no grazie|è tutto|e tutto|per ora è tutto|per ora e tutto|nient'altro"
    "|niente altro|basta così|basta cosi|sono a posto"
    "|doei|doeg|daag|dag dag|tot ziens|tot later|tot snel|tot de volgende keer|fijne dag|fijne avond"
    "|fijn weekend|prettige dag|nog een fijne dag|fijne dag nog|nee dank je|nee dank je wel|nee bedankt"
    "|nee dank u|nee hoor|nee meer niet|nee verder niets|nee verder niks|dat was het|dat was alles"
    "|verder niets|verder niks|meer niet"
    "|dadah|dada|daah|sampai jumpa|sampai jumpa lagi|sampai ketemu|selamat tinggal|tidak terima kasih"
    "|gak makasih|ga makasih|nggak makasih|tidak makasih|gak ada lagi|ga ada lagi|nggak ada lagi"
    "|tidak ada lagi"
    "|itu aja|itu saja|udah itu aja|sudah itu saja|segitu aja|segitu dulu|cukup|udah cukup|sudah cukup"
    "|ga usah|gak usah|nggak usah|tidak usah|tidak perlu"
    # Turkish: the trial's "görüşürüz" got the English refusal.
    "|görüşürüz|görüşmek üzere|hoşça kal|hoşçakal|hoşça kalın|hoşçakalın|güle güle|bay bay|baybay"
    "|iyi geceler|yok teşekkürler|yok teşekkür ederim|hayır teşekkürler|hayır teşekkür ederim|yok sağol"
    "|yok sağ olun|başka sorum yok|başka bir sorum yok|başka bir şey yok|bu kadar|şimdilik bu kadar"
    "|hepsi bu|gerek yok|yok gerek yok"
    # Thai "ไม่เป็นไร" (never mind) and "แค่นี้" (that's all) decline more help.
    "|ลาก่อน|บาย|บายบาย|บ๊ายบาย|แล้วพบกันใหม่|ไว้เจอกันใหม่|เจอกันใหม่|ราตรีสวัสดิ์|ไม่เป็นไร|แค่นี้|แค่นี้ก่อน"
    "|แค่นี้แหละ|ไม่มีแล้ว|ไม่มีอะไรแล้ว|ไม่มีคำถามแล้ว"
    "|अलविदा|फिर मिलेंगे|फिर मिलते हैं|बाय|बाय बाय|शुभ रात्रि|गुड नाइट|नहीं धन्यवाद|नहीं शुक्रिया|नहीं जी धन्यवाद"
    "|बस इतना ही|बस इतना|और कुछ नहीं|और कुछ नहीं चाहिए|कुछ नहीं चाहिए|alvida|phir milenge|bas itna hi"
    "|aur kuch nahi"
    # Arabic "لا شكرا" (no, thanks) and "بس كذا" (that's all, as the Gulf says it; "بس كده" in Egypt, "بس هيك"
    # in the Levant) decline more help.
    "|مع السلامة|ومع السلامة|في امان الله|الله معك|باي|باي باي|الى اللقاء|نشوفك|نشوفك على خير|تصبح على خير"
    "|تصبحون على خير|لا شكرا|لا شكرا لك|لا شكرا جزيلا|خلاص شكرا|بس كذا|بس كده|بس هيك|هذا كل شي|هذا كل شيء"
    "|ما في شي|مافي شي|ما ابي شي|ma3 salama|ma3a salama|maa salama|ma salama|ma'a salama|fi aman allah"
    "|fe aman allah"
    # Greek "όχι, ευχαριστώ" (no, thanks), "αυτά" (that's all) and "δεν χρειάζεται" (no need) decline more
    # help.
    "|αντίο|καληνύχτα|τα λέμε|τα ξαναλέμε|τα λέμε αργότερα|καλή συνέχεια|καλό βράδυ|καλή σας μέρα"
    "|καλή σας ημέρα|καλό σαββατοκύριακο|εις το επανιδείν|όχι ευχαριστώ|όχι ευχαριστούμε|όχι τίποτα άλλο"
    "|τίποτα άλλο|αυτά|αυτά ήταν|αυτό ήταν|μόνο αυτό|δεν χρειάζεται|δε χρειάζεται|δεν χρειάζεται κάτι άλλο"
    "|δεν έχω άλλη ερώτηση|antio|kalinixta|kalinyxta|kalinuxta|kalinihta|kalinichta|ta leme|ta ksanaleme"
    "|ta xanaleme|kali synexeia|kali sinexeia|kalo vrady|kalo vradi|oxi efxaristw|oxi eyxaristw|oxi euxaristw"
    "|oxi efxaristo|oxi euxaristo|ohi efharisto|afta"
    # Persian "نه، ممنون" (no, thanks) and "همین بود" (that was all) decline more help; "فعلا" (for now) takes
    # leave, and "شب بخیر" at night.
    "|خداحافظ|خدا حافظ|خدافظ|خدانگهدار|خدا نگهدار|بدرود|به امید دیدار|فعلا|فعلا خداحافظ|فعلا بای|شب بخیر"
    "|شب به خیر|شبتون بخیر|شب‌تون بخیر|شب خوش|روز خوش|روزتون خوش|روز خوبی داشته باشید|نه ممنون|نه ممنونم"
    "|نه مرسی|نه متشکرم|نه سپاس|همین بود|فقط همین|سوال دیگه ای ندارم|سوال دیگری ندارم|دیگه سوالی ندارم"
    "|سوالی ندارم|نیازی نیست|لازم نیست|khodahafez|khoda hafez|khodafez|khodanegahdar|bedrood|felan"
    "|felan khodahafez|felan bye|shab bekheir|shab bekheyr|na mamnoon|na mamnun|na merci|na mersi"
    # Ukrainian "ні, дякую" (no, thanks), "це все" (that's all) and "більше нічого" (nothing more) decline
    # more help.
    "|до побачення|бувайте|бувай|бувай здоров|па па|гарного дня|гарного вам дня|гарного вечора"
    "|гарних вихідних|гарного тижня|вдалого дня|на все добре|на все найкраще|всього доброго"
    "|всього найкращого|до зустрічі|до завтра|на добраніч|добраніч|надобраніч|ні дякую|ні спасибі"
    "|більше нічого|більше нічого не треба|більше питань немає|питань більше немає|це все|на цьому все"
    "|не треба|вже не треба|не потрібно"
    # Hebrew "לא תודה" (no, thanks), "זהו" and "זה הכל" (that's all) and "אין צורך" (no need) decline more
    # help.
    "|להתראות|ולהתראות|ביי|ביי ביי|ביביי|יאללה ביי|לילה טוב|יום נעים|המשך יום טוב|המשך יום נעים|ערב נעים"
    "|המשך ערב נעים|המשך ערב טוב|סוף שבוע נעים|סופש נעים|לא תודה|זהו|זהו זה|זה הכל|זה כל מה שרציתי"
    "|אין צורך|לא צריך|אין לי עוד שאלות|אין עוד שאלות|lehitraot|lehitra'ot|laila tov|layla tov|lo toda",
    "ok": "ok|okay|k|alright|all right|got it|i see|great|perfect|cool|nice|good|d'accord"
    "|dacord|genau|gut|super|vale|bien|bueno|понятно|хорошо|ок"
    "|понял|поняла|окей|ладно|договорились|принято|ага|угу|супер"
    "|好的|好|明白|知道了|嗯|行|はい|了解|了解です|わかりました|分かりました"
    "|了解しました|承知しました|かしこまりました|わかった|分かった"
    # "It's solved": a Chinese trial's "谢谢，解决了" and "搞定了" were searched as questions.
    "|解决了|已解决|已经解决了|问题解决了|没问题|搞定|可以了"
    "|收到|懂了|了解了"
    "|beleza|blz|certo|entendi|tá|ta|tá bom|ta bom|tá certo|ta certo|ótimo|otimo|perfeito"
    "|combinado|joia|jóia|понятно|ясно|всё понятно|все понятно|всё ясно|все ясно|отлично"
    "|네|알겠습니다|알겠어요|좋아요"
    "|넵|넹|네네|넵넵|예|옙|ㅇㅋ|ㅇㅇ|오키|오케이|알겠습니당|알았어요|알겠어여|확인했습니다|확인했어요|그렇군요|아하"
    "|va bene|perfetto|ottimo|benissimo|bene|capito|ho capito|chiaro|tutto chiaro|chiarissimo|d'accordo"
    "|tutto ok|tutto a posto|a posto|ricevuto|risolto|ho risolto"
    "|oké|oke|okee|okido|prima|top|helder|duidelijk|alles duidelijk|goed|is goed|goed zo|mooi|mooi zo|fijn"
    "|begrepen|ik snap het|snap het|in orde|geen probleem|gelukt|het is gelukt|opgelost"
    # Indonesian: "sip", "siap", "mantap" and "oke" close a chat as "ok" does; "ya" and "iya" as "네" does.
    "|okey|okeh|oce|sip|sipp|siip|siap|siapp|mantap|mantab|mantul|baik|baiklah|ya|iya|iyaa|yaudah|ya udah"
    "|noted|paham|mengerti|saya mengerti|saya paham|oh gitu|oh begitu|gitu|begitu|jelas|sudah jelas"
    "|udah jelas"
    "|beres|udah beres|sudah beres|berhasil|udah berhasil|sudah berhasil|udah bisa|sudah bisa|sdh bisa"
    # Turkish: the trial's "tamam" got the English refusal. "evet" is an ok, as "ya" and "네" are.
    "|tamam|tamamdır|tmm|tamam anladım|anladım|anlaşıldı|peki|tamam o zaman|peki o zaman|okey|oki|olur"
    "|oldu|tamam oldu|süper|harika|güzel|mükemmel|evet|hallettim|halloldu|çözüldü|sorun çözüldü"
    "|sorunum çözüldü"
    "|โอเค|โอเคร|เค|ได้|ได้เลย|ตกลง|เข้าใจแล้ว|รับทราบ|ทราบแล้ว|อ๋อ|เรียบร้อย|เรียบร้อยแล้ว|ได้แล้ว|ใช้ได้แล้ว"
    "|ดีมาก|เยี่ยม|เยี่ยมเลย"
    # Hindi "जी" is a filler, not an "ok": "जी नमस्ते" greets.
    "|ठीक है|ठीक|ठीक हैं|हाँ|हां|ओके|अच्छा|समझ गया|समझ गई|समझ गयी|समझ गए|समझ आ गया|हो गया|काम हो गया|सही है"
    "|बढ़िया|बिल्कुल|बिलकुल|theek hai|thik hai|theek h|thik h|theek|thik|accha|acha|achha|samajh gaya|samajh gayi"
    "|samajh gaye|ho gaya|haan"
    # Arabic: "ماشي" is Egypt's ok, "حاضر" a willing one. Not "نعم" nor "ايوه" (yes): the refusal asks whether
    # to bring in a person, and a yes to it is no "ok".
    "|تمام|تمام التمام|اوكي|اوك|اوكيه|اوكاي|طيب|ماشي|حاضر|فهمت|فهمت عليك|واضح|تم|ممتاز|حلو|جميل|رائع"
    "|mashi|mashy|tayeb|tayyib|tayb|7ader|hader"
    # Greek: not "ναι" (yes), as not "نعم".
    "|εντάξει|οκ|οκέι|οκει|καλά|καλώς|τέλεια|τέλειο|ωραία|ωραίο|άψογα|κατάλαβα|το κατάλαβα|κατανοητό|έγινε"
    "|σωστά|όλα καλά|όλα εντάξει|λύθηκε|το βρήκα|το έλυσα|entaksei|entaxei|entajei|entaksi|entaxi|endaksei"
    "|kala|kalws|kalos|teleia|telia|wraia|oraia|katalava|egine|ola kala|swsta|sosta"
    # Persian: "چشم" is a willing ok, as "حاضر" is; "اوکی" is Arabic's "اوكي" above, folded. Not "بله" nor
    # "آره" (yes), as not "نعم".
    "|باشه|باشد|اوکیه|حله|خوبه|عالیه|عالی|خب|خوب|فهمیدم|متوجه شدم|درسته|آهان|اهان|چشم|حتما|حل شد|مشکل حل شد"
    "|درست شد|اوکی شد|روشن شد|ایول|bashe|baashe|hale|halle|khube|khobe|aalie|fahmidam|motevajeh shodam"
    "|motevajjeh shodam|chashm|hal shod|dorost shod"
    # Ukrainian, "it's solved" ("вирішено", "все працює", "розібрався") among them. Not "так" (yes), as not
    # "نعم"; and Russian "так" is "so", which opens a question ("так где мой заказ?"). Not Russian "добро"
    # either: only Ukrainian "добре".
    "|добре|гаразд|зрозуміло|зрозумів|зрозуміла|зрозуміли|все зрозуміло|тепер зрозуміло|окай|чудово"
    "|відмінно|прекрасно|класно|клас|домовились|домовилися|згода|прийнято|все добре|все гаразд|все ок"
    "|вирішено|питання вирішено|проблему вирішено|проблема вирішена|все працює|вже працює|тепер працює"
    "|запрацювало|все запрацювало|розібрався|розібралася|розібралась|розібралися|розібрались|все вийшло"
    "|вийшло|вдалося|все вдалося"
    # Hebrew: "עובד עכשיו" and "נפתר" (it works now, it's solved); "אחלה" and "סבבה" as Israelis chat. Not
    # "כן" (yes), as not "نعم".
    "|אחלה|סבבה|מעולה|בסדר|בסדר גמור|אוקיי|אוקי|הבנתי|מובן|ברור|טוב|יופי|מצוין|מצויין|מושלם|נהדר|מגניב"
    "|סגור|קיבלתי|נפתר|נפתרה|זה נפתר|הבעיה נפתרה|עובד עכשיו|עכשיו עובד|זה עובד|עכשיו זה עובד|הכל עובד"
    "|הכל בסדר|הסתדרתי|זה הסתדר|sababa|beseder|achla|akhla|metzuyan|mitzuyan|yofi",
}
# "ciao" both greets and takes leave. Alone it opens a conversation far more often than it ends one: an
# Italian trial's first message "ciao" was answered "Goodbye, and thanks for getting in touch!" (a departing
# customer is not harmed by "Hello! What can I help you with?"). With thanks, an ok or a goodbye ("grazie,
# ciao", "ok ciao") the customer is leaving: a goodbye. Dutch "dag" is the same ("dag!" greets in Flanders,
# "bedankt, dag" leaves).
# Turkish "iyi günler", "iyi akşamlar", "iyi çalışmalar" and "kolay gelsin" are the same: "İyi akşamlar"
# opens a Turkish chat as often as it closes one, and "teşekkürler, iyi akşamlar" leaves. Vietnamese "chào"
# too ("chào bạn" greets, "cảm ơn, chào nhé" leaves), and Thai "สวัสดี" ("สวัสดีครับ" greets, "ขอบคุณค่ะ สวัสดีค่ะ"
# leaves), and Hindi "नमस्ते" and "नमस्कार" ("धन्यवाद, नमस्ते" leaves).
_HELLO_OR_BYE_TEXT = "ciao|dag|iyi günler|iyi akşamlar|iyi çalışmalar|kolay gelsin|hayırlı akşamlar|chào|chao"
_HELLO_OR_BYE_TEXT += "|สวัสดี|नमस्ते|नमस्कार|namaste|namaskar"
# Arabic "سلام" alone greets, and takes leave in Egypt and the Levant: "شكرا، سلام" leaves.
_HELLO_OR_BYE_TEXT += "|سلام"
# Greek "γεια" (health) greets alone and takes leave: "ευχαριστώ, γεια σας" leaves; and "καλό απόγευμα" (a
# good afternoon) as "iyi günler" does.
_HELLO_OR_BYE_TEXT += "|γεια|γεια σας|γεια σου|γεια χαρά|καλό απόγευμα|geia|geia sas|geia sou|geia xara"
_HELLO_OR_BYE_TEXT += "|gia sas|gia sou|ya sas|yia sas|kalo apogevma|kalo apogeuma"
# Persian "خسته نباشید" (may you not be tired) and "وقت بخیر" (a good time to you) greet alone, and take leave
# with thanks: "ممنون، خسته نباشید" leaves.
_HELLO_OR_BYE_TEXT += "|خسته نباشید|خسته نباشین|خسته نباشی|وقت بخیر|وقت به خیر|وقتتون بخیر|وقت‌تون بخیر"
_HELLO_OR_BYE_TEXT += "|وقت شما بخیر|روز بخیر|روزتون بخیر|khaste nabashid|khaste nabashin|vaght bekheir"
_HELLO_OR_BYE_TEXT += "|vaght bekheyr|vaqt bekheir"
# Hebrew "שלום" (peace) greets alone and takes leave, as "سلام" does: "תודה, שלום" leaves; and so do a good
# evening, day, week, Sabbath and holiday ("שבוע טוב" opens an Israeli chat on Sunday as often as it closes
# one, and "תודה, שבת שלום" leaves).
_HELLO_OR_BYE_TEXT += "|שלום|ערב טוב|צהריים טובים|יום טוב|שבוע טוב|שבת שלום|חג שמח|shalom|erev tov|shavua tov"
_HELLO_OR_BYE_TEXT += "|shabbat shalom|shabat shalom|chag sameach|hag sameach"
# Turkish letters as customers type them without a Turkish keyboard ("tesekkurler", "gorusuruz", "sagol"), and
# Turkish capitals, which Python lower-cases the English way: "İ" into "i" and a combining dot ("İYİ GÜNLER"
# read "i̇yi̇ günler", the dot then taken for punctuation), "I" into "i" ("HOŞÇA KALIN" read "hoşça kalin").
# Phrases and messages are compared with these letters folded to ASCII, whatever their language: "tschüss"
# is "tschuss" on both sides.
_TURKISH_ASCII = str.maketrans({"ç": "c", "ğ": "g", "ı": "i", "ş": "s", "ö": "o", "ü": "u", "\u0307": ""})


# Arabic as customers type it (`bot.arabic.arabic_folded`: with or without the hamza on alef, a word's end as
# ة or ه and as ى or ي, with or without the short vowels and tanween, "شكرًا", and the tatweel that stretches a
# word, "شكــرا", and a Persian keyboard's ی and ک), and further: the hamza on waw and ya (ؤ, ئ), Quranic
# marks, and a letter typed again and again ("شكراااا", "هلاا"). Phrases, patterns and messages are compared
# with these folded: "مع السلامة" is "مع السلامه". Persian's zero-width non-joiner is a space, as a message's
# was already (`_PUNCTUATION`) and as search cuts words there: "سپاس‌گزارم" is "سپاس گزارم" on both sides.
_ARABIC_KEYBOARD = str.maketrans(
    {"ؤ": "و", "ئ": "ي", "\u200c": " "}
    | {chr(mark): None for mark in (*range(0x0610, 0x061B), *range(0x06D6, 0x06EE))}
)
_ARABIC_STRETCHED = re.compile(r"([\u0621-\u064a])\1{2,}|(ا)\2+")


def _arabic_folded(text: str) -> str:
    """`text` with its Arabic letters folded (`_ARABIC_KEYBOARD`), a letter typed three times or more (an alef
    twice or more) once: no Arabic word writes a letter three times, nor two alefs."""
    if not any("\u0600" <= ch <= "\u06ff" for ch in text):
        return text
    folded = arabic_folded(text).translate(_ARABIC_KEYBOARD)
    return _ARABIC_STRETCHED.sub(lambda match: match.group(1) or "ا", folded)


# Greek as customers type it: with or without its accents and diaeresis, in capitals without them
# ("ΕΥΧΑΡΙΣΤΩ"), and a word's final "ς" as the "σ" that `str.casefold` makes of it. Phrases, patterns and
# messages are compared with these folded: "ευχαριστώ", "ευχαριστω" and "ΕΥΧΑΡΙΣΤΩ" are one. (A Greek letter
# and the marks after it; the rest is left as it is: Vietnamese phrases keep their marks.)
_GREEK_RUN = re.compile("[\u0370-\u03ff\u1f00-\u1fff][\u0370-\u03ff\u1f00-\u1fff\u0300-\u036f]*")


def _greek_folded(text: str) -> str:
    """`text` with its Greek words without accents and with "ς" as "σ" (`_GREEK_RUN`)."""
    return _GREEK_RUN.sub(lambda match: without_accents(match.group()).replace("ς", "σ"), text)


# Ukrainian as customers type it (`bot.unicode.ukrainian_typed`): phrases, patterns and messages are compared
# with the apostrophe left out of a Cyrillic word and a Latin "i" in one as "і": "з'єднайте", "зʼєднайте" and
# "зєднайте" are one, and "привiт" is "привіт".


# Hebrew as customers type it: with or without its final letters ("שלומ" for "שלום", as a keyboard without
# them or a hurried thumb types it), and without the vowel points a pasted text may carry ("שָׁלוֹם").
# Phrases, patterns and messages are compared with each final letter as its plain form and no points:
# "שלום", "שלומ" and "שָׁלוֹם" are one. Yiddish, written in the same letters, still meets no phrase of these:
# its words are its own ("װוּ איז", "אַ דאַנק"), pointed or not.
_HEBREW_KEYBOARD = str.maketrans(
    {"ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ"}
    | {chr(code): None for code in range(0x0591, 0x05C8) if unicodedata.category(chr(code)).startswith("M")}
)


def _hebrew_folded(text: str) -> str:
    """`text` with its Hebrew final letters as their plain forms and without vowel points
    (`_HEBREW_KEYBOARD`)."""
    if not any("\u0590" <= ch <= "\u05ff" for ch in text):
        return text
    return text.translate(_HEBREW_KEYBOARD)


def _fold(text: str) -> str:
    """`text` lower-cased, with the Turkish letters as ASCII (`_TURKISH_ASCII`), and Greek, Arabic, Ukrainian
    and Hebrew folded (`_greek_folded`, `_arabic_folded`, `ukrainian_typed`, `_hebrew_folded`)."""
    lowered = text.replace("İ", "i").casefold().translate(_TURKISH_ASCII)
    return _hebrew_folded(ukrainian_typed(_arabic_folded(_greek_folded(lowered))))


# "yes_please": a yes with thanks ("ja tack", Swedish "yes please"), which answers the refusal's offer of a
# person; its "ja" is otherwise a filler ("ja danke"), and the message was read as thanks.
_Kind = SmallTalk | Literal["hello_or_bye", "yes_please"]


# Vietnamese, written with its marks; each phrase counts without them too (`without_accents`: "cam on",
# "xin chao", "tam biet"), as Vietnamese customers very often type. A Vietnamese telecom's trial's "xin chào"
# and "cảm ơn ad" were refused as questions the help center does not answer.
_VI_PHRASE_TEXT: dict[SmallTalk, str] = {
    "greeting": "xin chào|alo|alô|a lô|hello ad|hi ad|chào buổi sáng|chào buổi chiều|chào buổi tối",
    "thanks": "cảm ơn|cám ơn|cảm ơn nhiều|cám ơn nhiều|camon|cmon ad|tks|thanks ad|thank ad|thank you ad"
    "|cảm ơn đã hỗ trợ|cảm ơn vì đã hỗ trợ|cảm ơn đã giúp|cảm ơn thông tin|cảm ơn đã tư vấn|cám ơn đã hỗ trợ"
    "|xin cảm ơn|tks ad|thanks nhiều|thank nhiều",
    # "Không, cảm ơn" declines more help, as "No, thanks" does.
    "goodbye": "tạm biệt|bai|bái bai|bb|pp|hẹn gặp lại|không cảm ơn|không cần nữa|ko cần nữa|k cần nữa"
    "|không còn gì nữa|hết rồi|vậy thôi|thế thôi|vậy là được rồi|thôi cảm ơn|không có gì nữa",
    # "Dạ" and "vâng" say yes politely, as "네" does; "ok ạ" with its polite particle.
    "ok": "dạ|vâng|dạ vâng|vâng ạ|ừ|ừm|ờ|oki|okie|okela|okê|được rồi|được|đc rồi|dc r|đã hiểu|hiểu rồi"
    "|rõ rồi|ok rồi|xong rồi|đã xong|ổn rồi|làm được rồi|dạ được|dạ rồi|dạ ok|dạ oke",
}
# Czech, and Slovak beside it (detected as Slovak, answered in English: there is no Slovak catalog), written
# with their marks; each word of a phrase counts without them too ("dekuji", "dekuji za odpověď", "dakujem"),
# as Czech and Slovak customers very often type. "Moc", "mockrát", "pěkně", "vám" and "přeji" are fillers
# ("děkuji moc", "přeji Vám hezký den"). "Ahoj", "čau", "zdravím" and "hezký den" greet alone and take leave
# with thanks, as "ciao" does ("díky, ahoj" leaves); "ne, děkuji" and "to je vše" decline more help. Not
# "ano", "jo" nor "áno" (yes), as not "نعم": they may answer the refusal's offer of a person.
_CS_PHRASE_TEXT: dict[_Kind, str] = {
    "greeting": "dobrý den|dobrej den|dobré ráno|dobré dopoledne|dobré odpoledne|dobrý večer|zdravíčko|haló"
    "|jak se máte|jak se máš|jak se vede|dobrý deň|dobré popoludnie|ako sa máte|ako sa máš",
    "thanks": "děkuji|děkuju|děkujeme|díky|dík|díkes|díkec|děkuji za pomoc|díky za pomoc|děkuji za odpověď"
    "|díky za odpověď|děkuji za informaci|děkuji za informace|díky za info|díky za informaci|děkuji za radu"
    "|díky za radu|děkuji za vysvětlení|děkuji za ochotu|díky za ochotu|děkuji za rychlou odpověď"
    "|ďakujem|ďakujeme|vďaka|ďakujem za pomoc|ďakujem za odpoveď|ďakujem za informáciu|ďakujem za info",
    "goodbye": "na shledanou|nashledanou|na shle|nashle|na viděnou|mějte se|mějte se hezky|mějte se pěkně"
    "|měj se|měj se hezky|sbohem|s pozdravem|hezký víkend|pěkný víkend|krásný víkend|hezký zbytek dne"
    "|pěkný zbytek dne|dobrou noc|zatím|ne děkuji|ne děkuju|ne díky|to je vše|to je všechno|to je zatím vše"
    "|zatím vše|to bude vše|to by bylo vše|to by bylo všechno|to je ode mě vše|už nic|nic dalšího|nic víc"
    "|už nic nepotřebuji|už nic nepotřebuju|není třeba|není potřeba|už není potřeba|to stačí|dovidenia"
    "|do videnia|majte sa|majte sa pekne|maj sa|zbohom|dobrú noc|pekný víkend|nie ďakujem|nie vďaka"
    "|to je všetko|už nič|nič viac|netreba",
    "ok": "dobře|dobrá|dobrá tedy|v pořádku|vše v pořádku|jasně|jasný|rozumím|už rozumím|chápu|už chápu"
    "|aha|výborně|skvěle|skvělé|perfektní|perfektně|paráda|fajn|bezva|oukej|okej|v pohodě|domluveno"
    "|beru na vědomí|vyřešeno|je to vyřešené|problém vyřešen|funguje to|už to funguje|už funguje|už to jde"
    "|už jde|povedlo se|už se to povedlo|podařilo se|už se to podařilo|vyřešil jsem to|vyřešila jsem to"
    "|našel jsem to|našla jsem to|už jsem to našel|už jsem to našla|dobre|v poriadku|rozumiem|chápem"
    "|jasné|výborne|vyriešené|podarilo sa|už to ide",
    "hello_or_bye": "ahoj|ahojky|čau|čauky|čaues|nazdar|zdar|zdravím|hezký den|pěkný den|krásný den"
    "|hezký večer|pěkný večer|pekný deň|pekný večer",
}

# Swedish, written with its letters; each word of a phrase counts without their marks too ("tack sa
# mycket", "hej da", "tack for hjalpen"), as Swedish customers type on a keyboard or a phone without them.
# "Hej" and "hejsan" greet alone and take leave with thanks, as "ciao" does ("tack, hej!" leaves); "nej
# tack" and "det var allt" decline more help; "det funkar nu" and "det löste sig" close the question. Not
# "ja", "japp", "jo" nor "visst" (yes), as not "نعم": they may answer the refusal's offer of a person.
# Norwegian and Danish thanks and goodbyes beside them ("takk", "tusen takk", "mange tak", "ha det", "nei
# takk"), answered in English (no catalog); not Danish "tak" alone, which is Polish "yes".
_SV_PHRASE_TEXT: dict[_Kind, str] = {
    "greeting": "tjena|tjenare|tjenixen|hallå|god morgon|godmorgon|god middag|god eftermiddag|god kväll"
    "|god dag|goddag|hur mår du|hur mår ni|hur är läget|läget|god morgen|god aften",
    "thanks": "tack|tackar|tack tack|tack så mycket|tack så hemskt mycket|tackar så mycket|tusen tack"
    "|stort tack|varmt tack|tack ska du ha|tack ska ni ha|tack för hjälpen|tack för svaret"
    "|tack för snabbt svar|tack för det snabba svaret|tack för informationen|tack för infon|tack för det"
    "|tack för det här|stort tack för hjälpen|tusen tack för hjälpen|tack så mycket för hjälpen"
    "|tack så mycket för svaret|stort tack för svaret|tusen tack för svaret"
    "|tack snälla|tack detsamma|takk|tusen takk|takk skal du ha|takk for hjelpen|mange takk|mange tak"
    "|tusind tak|tak for hjælpen",
    "goodbye": "hej då|hejdå|adjö|ajö|ha det|ha det bra|ha det gott|ha en bra dag|ha en fin dag"
    "|ha en trevlig dag|ha en skön dag|ha en bra kväll|ha en trevlig kväll|ha en trevlig helg|ha en bra helg"
    "|trevlig helg|trevlig kväll|vi hörs|vi ses|god natt|godnatt|nej tack|nä tack|nej det var allt"
    "|det var allt|det var bara det|det var det hela|det är bra så|det var bra så|inget mer|ingenting mer"
    "|det räcker|det räcker så|behövs inte|det behövs inte|nei takk|det var alt|farvel|nej tak",
    "ok": "okej|okey|okidoki|bra|vad bra|mycket bra|jättebra|toppen|perfekt|utmärkt|kanon|kanonbra|grymt"
    "|schysst|schyst|fint|vad fint|härligt|jaha|aha|jag förstår|förstår|förstått|uppfattat|då förstår jag"
    "|det funkar nu|nu funkar det|funkar nu|det fungerar nu|nu fungerar det"
    "|fungerar nu|det löste sig|nu löste det sig|det är löst|problemet är löst|problemet löste sig|fixat"
    "|det är fixat|nu är det fixat|jag löste det|jag fixade det|jag hittade det|hittade det|nu gick det"
    "|det gick bra|greit|flott|supert",
    "hello_or_bye": "hej|hejsan|hej hej|hejhej|hejsan svejsan",
    "yes_please": "ja tack|jo tack|ja gärna|ja tack gärna|gärna|ja takk|ja tak",
}

# Hungarian, written with its marks; each word of a phrase counts without them too ("koszonom", "jo napot
# kivanok", "viszlat"), and with "ő" and "ű" typed as "ö" and "ü", or as "õ" and "û" on a Latin-1 keyboard
# ("müködik", "mûködik"), as Hungarian customers type them. "Szia", "sziasztok", "szevasz" and "szép napot"
# greet alone and take leave with thanks, as "ciao" does ("köszi, szia!" leaves); "nem, köszönöm" and "ennyi
# volt" decline more help; "már működik" and "sikerült" close the question. Not "igen" (yes), as not "نعم",
# nor "igen, köszönöm": they may answer the refusal's offer of a person.
_HU_PHRASE_TEXT: dict[_Kind, str] = {
    "greeting": "jó napot|jó napot kívánok|jó napot kívánunk|jó reggelt|jó reggelt kívánok|jó estét"
    "|jó estét kívánok|üdvözlöm|üdvözlet|üdv|helló|halló|halihó|csókolom|kezit csókolom|hogy van|hogy vagy"
    "|mi újság",
    "thanks": "köszönöm|köszönjük|köszi|kösz|köszike|köszcsi|köszönet|ezer köszönet|hálás köszönet"
    "|köszönöm szépen|köszi szépen|nagyon köszönöm|köszönök mindent|köszönöm a segítséget"
    "|köszi a segítséget|köszönöm a választ|köszi a választ|köszönöm a gyors választ|köszönöm az információt"
    "|köszönöm az infót|köszi az infót|köszönöm a tájékoztatást|előre is köszönöm|köszönöm előre is",
    "goodbye": "viszontlátásra|viszont látásra|viszlát|viszláát|további szép napot|további jó napot"
    "|további szép estét|szép estét|szép hétvégét|jó hétvégét|jó éjt|jó éjszakát|további jó munkát|jó munkát"
    "|önnek is szép napot|önnek is további szép napot|neked is szép napot|pá|pápá|nem köszönöm"
    "|köszönöm nem|nem kösz|nem köszi|ennyi volt|ennyi lenne|ez minden|ez lenne minden"
    "|más nincs|mást nem|nincs más kérdésem|nincs több kérdésem|nincs több|nem kell|már nem kell"
    "|nem szükséges",
    "ok": "rendben|rendben van|minden rendben|oké|okés|okké|okéka|jó|jól van|akkor jó|már jó|értem|értettem"
    "|megértettem|világos|érthető|szuper|szupi|tökéletes|remek|nagyszerű|kiváló|király|klassz|megvan"
    "|sikerült|már sikerült|megoldódott|megoldva|már működik|most már működik|már megy|most már megy"
    "|megoldottam|megtaláltam|tudomásul vettem",
    "hello_or_bye": "szia|sziasztok|szió|sziuszka|szevasz|szevasztok|hali|csá|csáó|szép napot"
    "|szép napot kívánok",
    # "Igen, köszönöm" (yes, thank you), whose "igen" is Swedish "again", a filler ("tack igen").
    "yes_please": "igen köszönöm|igen köszi|igen kösz|igen kérem|igen kérném|igen szeretném|igen légyszi",
}

# Polish, written with its letters; each word of a phrase counts without their marks too ("dziekuje", "dzien
# dobry", "do widzenia", "ł" as "l": "juz dziala"), as Polish customers often type, and "dziękuje" with the
# last mark left off, as often. "Cześć", "hej", "hejka" and "siema" greet alone and take leave with thanks, as
# "ciao" does ("dzięki, cześć!" leaves); "nie, dziękuję" and "to wszystko" decline more help; "już działa" and
# "udało się" close the question. Not "tak" (yes), as not "نعم", nor "tak, dziękuję" or "poproszę": they may
# answer the refusal's offer of a person ("tak" is a Czech filler, "tak díky").
_PL_PHRASE_TEXT: dict[_Kind, str] = {
    "greeting": "dzień dobry|dobry wieczór|witam|witam serdecznie|witam państwa|witaj|witajcie|halo"
    "|jak się masz|co słychać|uszanowanie",
    "thanks": "dziękuję|dziękuje|dziękujemy|dzięki|dzięks|dziękówka|wielkie dzięki|dzięki wielkie"
    "|bardzo dziękuję|dziękuję bardzo|serdecznie dziękuję|dziękuję serdecznie|z góry dziękuję"
    "|dziękuję za pomoc|dzięki za pomoc|dziękuję za odpowiedź|dzięki za odpowiedź|dziękuję za informację"
    "|dziękuję za informacje|dzięki za info|dziękuję za szybką odpowiedź|dziękuję za wyjaśnienie"
    "|dzięki za wyjaśnienie|bóg zapłać|dziękuję bardzo za pomoc|bardzo dziękuję za pomoc"
    "|wielkie dzięki za pomoc|dzięki wielkie za pomoc|dziękuję bardzo za odpowiedź"
    "|bardzo dziękuję za odpowiedź",
    "goodbye": "do widzenia|do zobaczenia|do usłyszenia|pa|pa pa|na razie|narka|żegnam|dobranoc"
    "|miłego dnia|miłego wieczoru|miłego weekendu|życzę miłego dnia|pozdrawiam|pozdrawiam serdecznie"
    "|nie dziękuję|nie dzięki|to wszystko|to by było wszystko|to już wszystko|to wszystko dziękuję|nic więcej"
    "|już nic|nie trzeba|nie potrzeba|już nie trzeba|już nie potrzeba|nie mam więcej pytań",
    "ok": "okej|oki|okey|okejka|dobrze|dobra|no dobra|w porządku|wszystko w porządku|jasne|rozumiem"
    "|już rozumiem|zrozumiałem|zrozumiałam|spoko|super|świetnie|ekstra|idealnie|doskonale|fajnie"
    "|przyjąłem|przyjęłam|przyjęte|już działa|teraz działa|wszystko działa|już wszystko działa"
    "|udało się|już się udało|problem rozwiązany|rozwiązane|załatwione|znalazłem|znalazłam|już znalazłem"
    "|już znalazłam",
    "hello_or_bye": "cześć|hej|hejka|hejo|siema|siemka|siemano",
    "yes_please": "tak dziękuję|tak dzięki|tak proszę|tak poproszę|poproszę|tak chętnie|chętnie",
}


# Each phrase as its words: "thank you" is ("thank", "you"); a CJK phrase is one word ("谢谢",). Compared
# as Simplified Chinese characters, as the message is: Japanese "よろしくお願いします" is read as
# "よろしくお愿いします", and written as is it was never found (nor "結構です").
_BY_WORDS: dict[tuple[str, ...], _Kind] = {
    tuple(_fold(to_simplified(p, words=False)).split()): kind
    for kind, text in _PHRASE_TEXT.items()
    for p in text.split("|")
}
_BY_WORDS |= {tuple(_fold(p).split()): "hello_or_bye" for p in _HELLO_OR_BYE_TEXT.split("|")}
# A plain form of one letter is left out: "ừ" (yeah) is "u", which says nothing in other languages either.
_BY_WORDS |= {
    tuple(_fold(form).split()): kind
    for kind, text in _VI_PHRASE_TEXT.items()
    for p in text.split("|")
    for form in (p, without_accents(p))
    if len(form) > 1 or form == p
}


def _with_or_without_marks(word: str) -> set[str]:
    """`word` (folded) with its marks and without them, as customers type it."""
    return {word, without_accents(word)}


def _hungarian_typed(word: str) -> set[str]:
    """`word` (folded) as Hungarian customers type it: with its marks, without, and with "ő", "ű" as the
    letters other keyboards put in their place."""
    return {
        *_with_or_without_marks(word),
        word.replace("ő", "o").replace("ű", "u"),
        word.replace("ő", "õ").replace("ű", "û"),
    }


def _typed_phrases(
    phrases: dict[_Kind, str],
    typed: Callable[[str], set[str]] = _with_or_without_marks,
    left_out: frozenset[tuple[str, ...]] = frozenset(),
) -> dict[tuple[str, ...], _Kind]:
    """Each phrase of `phrases` as its words, in every combination of the forms `typed` gives each word, less
    the forms `left_out`."""
    return {
        form: kind
        for kind, text in phrases.items()
        for p in text.split("|")
        for form in product(*(typed(word) for word in _fold(p).split()))
        if form not in left_out
    }


# Czech and Slovak: each word with its marks or without ("děkuji za odpoved").
_BY_WORDS |= _typed_phrases(_CS_PHRASE_TEXT)
# Swedish (and Norwegian and Danish): each word with its letters or without ("tack sa mycket", "hej da").
_BY_WORDS |= _typed_phrases(_SV_PHRASE_TEXT)
# Hungarian: each word with its marks or without, and with "ő", "ű" as "ö", "ü" (which `_fold` reads as "o",
# "u") or "õ", "û" ("tökéletes", "nagyszerü", "mûködik"). Not "jo" for "jó" alone, which is Czech "yes", nor
# "papa" for "pápá".
_BY_WORDS |= _typed_phrases(_HU_PHRASE_TEXT, _hungarian_typed, frozenset({("jo",), ("papa",)}))
# Polish: each word with its letters or without ("dziekuje za pomoc", "juz dziala").
_BY_WORDS |= _typed_phrases(_PL_PHRASE_TEXT)
# Words that may come along without changing what the message is ("thanks again", "hi there", "ok bot").
_FILLERS_TEXT = "a again all bot guys team there so much very you lot really oh ah and then ja oui si sí да"
_FILLERS_TEXT += " 啊 呀 的 了"
# Taiwan's sentence-final particles ("謝謝啦", "好喔", "拜拜囉"), compared in Simplified characters
# (囉 is 啰).
_FILLERS_TEXT += " 啦 喔 哦 啰 欸 唷"
_FILLERS_TEXT += " sim então entao pessoal gente viu"
_FILLERS_TEXT += " allora davvero ragazzi"
_FILLERS_TEXT += " 아 정말 진짜 너무 대단히"
# Dutch: "dank je hoor", "nou, bedankt", "oké dan", "echt heel erg bedankt", "fijne dag nog".
_FILLERS_TEXT += " hoor nou dan echt heel erg nog allemaal"
# Indonesian: whom the customer addresses ("makasih kak", "siap min", "oke gan") and particles ("oke deh",
# "makasih ya", "sip dong"), "makasih banyak ya kak", "terima kasih banget".
_FILLERS_TEXT += " kak kakak ka min admin gan sis bro bang mas mbak pak bu deh dong nih sih lah yah ya yaa"
_FILLERS_TEXT += " banyak banget bgt sekali semuanya oh wah"
# Turkish: "çok teşekkürler", "teşekkürler hocam", "sağol abi", "size de iyi günler", "tamam ya".
_FILLERS_TEXT += " çok size sizlere sana hocam abi abla kardeşim efendim yine gerçekten de da yaa valla"
# Vietnamese: whom the customer addresses ("chào ad", "cảm ơn shop", "thanks bạn", "dạ em") and the polite
# and softening particles ("ok ạ", "cảm ơn nhiều nha", "vâng ạ"), with and without marks.
_FILLERS_TEXT += (
    " ad shop bạn ban em e anh chị chi mình minh ạ nha nhé nhe nhá nhen hen nè ne ơi oi luôn luon"
)
_FILLERS_TEXT += " nhiều nhieu nhìu lắm lam rất rat ạ"
# Thai: the polite particles, which tell the speaker's gender and follow nearly every phrase ("ขอบคุณครับ",
# "ได้เลยค่ะ", "โอเคนะคะ"), "very" ("ขอบคุณมากๆ") and whom the customer addresses ("ขอบคุณแอดมิน").
_FILLERS_TEXT += " ครับ ค่ะ คะ คับ ค่า ค้าบ คร้าบ ครับผม จ้า จ้ะ จ๊ะ นะ น้า ฮะ งับ มาก มากๆ เลย แอดมิน แอด น้อง"
# Hindi: the respectful "जी" ("धन्यवाद जी", "हाँ जी"), "very" ("बहुत बहुत धन्यवाद"), "your" ("आपका धन्यवाद") and
# whom the customer addresses ("thank you sir", "ठीक है भैया").
_FILLERS_TEXT += " जी बहुत आपका आपको आपकी सर मैडम भाई भैया दीदी ji bahut aapka sir madam bhai bhaiya"
# Arabic: whom the customer addresses ("شكرا اخي", "تمام يا غالي"), "very" ("شكرا كثير", "شكرا جدا", Gulf
# "وايد" and "مره", Egypt's "اوي"), "to you" ("شكرا لك"), "by God" ("والله") and "and" written apart.
_FILLERS_TEXT += " يا اخي اخوي اخويا اختي حبيبي عزيزي استاذ غالي الغالي جزيلا كثير كتير جدا وايد مره اوي"
_FILLERS_TEXT += " لك ليك لكم ليكم والله و habibi akhi jazeelan kteer ktir"
# Greek: "very" ("ευχαριστώ πολύ", "πάρα πολύ", "ευχαριστώ θερμά"), "you" ("καλημέρα σας"), "and", "so"
# ("εντάξει λοιπόν") and whom the customer addresses ("γεια σου φίλε"); in Greeklish too ("eyxaristw poly").
_FILLERS_TEXT += " πολύ πάρα πολλά θερμά σας σου και κι λοιπόν φίλε ρε poli poly polu para polla sas kai"
# Persian: "very" ("خیلی ممنون", "بسیار سپاسگزارم"), "really" and whom the customer addresses ("مرسی عزیزم");
# in Latin letters too ("kheili mamnoon").
_FILLERS_TEXT += " خیلی بسیار واقعا عزیزم عزیز جان kheili kheyli khyli kheli azizam"
# Ukrainian: "very" ("дуже дякую", "велике дякую" as surzhyk has it), "sincerely" ("щиро дякую"), "you"
# ("дякую вам", "вітаю вас"), "and", "well" ("ну добре"), "then" ("добре тоді") and whom the customer
# addresses ("дякую, друже").
_FILLERS_TEXT += " дуже щиро велике величезне вам вас тобі і й та ну тоді друже"
# Hebrew: "very" ("תודה רבה רבה", "תודה ממש"), "really", "you" ("תודה לך", "שבוע טוב גם לכם"), "again",
# "also", and whom the customer addresses ("תודה רבה אחי", "סבבה נשמה"); in Latin letters too ("toda achi").
_FILLERS_TEXT += " רבה ממש באמת מאוד לך לכם שוב גם אחי אחותי נשמה גבר achi ahi"
# Czech and Slovak: "very" ("děkuji moc", "díky mockrát", "ďakujem veľmi pekne"), "warmly", "in advance"
# ("předem děkuji"), "you" ("děkuji Vám", "zdravím Vás"), "I wish" ("přeji Vám hezký den"), "again" ("ještě
# jednou díky"), "too" ("Vám taky hezký den"; not "také", which is English "take" without its mark) and
# "so", "then" ("tak díky", "díky teda"); without their marks too.
_CS_FILLERS_TEXT = (
    " moc mockrát mnohokrát velice velmi veľmi pěkně pekne vřele srdečně předem vopred vám vás přeji prajem"
    " ještě ešte jednou raz taky též tiež tak teda tedy"
)
_FILLERS_TEXT += _CS_FILLERS_TEXT + without_accents(_CS_FILLERS_TEXT)
# Swedish: "very" ("tack jättemycket"), "again" ("tack igen"), "really", "please", "then" ("okej då"), "and"
# ("hej då och tack"), whom the customer addresses ("tack du", "hej alla", "hej allihop") and "the same to
# you" ("tack, detsamma"); without their marks too. Not "så", whose plain "sa" greets in Turkish.
_SV_FILLERS_TEXT = (
    " jättemycket jätte igen verkligen snälla då och du dig ni alla allihop allihopa hörni detsamma"
)
_FILLERS_TEXT += _SV_FILLERS_TEXT + without_accents(_SV_FILLERS_TEXT)
# Hungarian: "very" ("nagyon szépen köszönöm"), "nicely" ("köszönöm szépen"), "again" ("még egyszer
# köszönöm"), "in advance" ("előre is köszönöm"), "too" and "to you" ("Önnek is szép napot"), "really",
# "then", "and", "well" ("hát akkor köszi"); without their marks too.
# Not "is" (előre is, in advance) nor "és" typed "es": "is ok?" and "es ok?" are English and Spanish
# questions ("előre is" is in the phrases).
_HU_FILLERS_TEXT = " nagyon szépen még egyszer előre önnek önöknek neked nektek tényleg igazán akkor hát"
_FILLERS_TEXT += _HU_FILLERS_TEXT + without_accents(_HU_FILLERS_TEXT) + " és"
# Polish: "very" ("dziękuję bardzo", "wielkie dzięki"), "warmly", "once more" ("jeszcze raz dziękuję"),
# "really", "kindly", "you" ("dziękuję Ci", "dziękuję Wam", "dziękuję Państwu", "dziękuję Pani"), "too"
# ("Tobie też miłego dnia"), "likewise" ("dziękuję, wzajemnie") and "already"; without their marks too. Not
# "no" (well), English's "no".
_PL_FILLERS_TEXT = (
    " bardzo serdecznie wielkie ogromne jeszcze raz naprawdę uprzejmie ci tobie wam państwu pani panu też"
    " również wzajemnie już"
)
_FILLERS_TEXT += _PL_FILLERS_TEXT + without_accents(_PL_FILLERS_TEXT)
_FILLERS = frozenset(_fold(_FILLERS_TEXT).split())
# When several kinds meet, the reply answers the strongest: a customer who says goodbye with their thanks
# ("thanks bye", "不用了，谢谢") is leaving, and "Is there anything else I can help you with?" asked them
# to stay.
_PRIORITY: tuple[SmallTalk, ...] = ("goodbye", "thanks", "greeting", "ok")
# Korean emoticons typed as letters: ㅋㅋ and ㅎㅎ laugh, ㅠㅠ and ㅜㅜ cry, ㅡㅡ frowns. Hangul letters that
# stand alone, outside a syllable, say what an emoji says: with small talk they change nothing
# ("감사합니다ㅎㅎ"), and alone they are an "ok", as "👍" is (a Korean trial's "ㅠㅠ" after an answer was
# looked up and refused).
_KOREAN_EMOTICON = re.compile("[ㅋㅎㅠㅜㅡ]+")
# Punctuation, symbols and emoji ("Thanks!! 🙏"), but not the marks written on letters (`MARKS`): Thai and
# Devanagari write vowels, tones and viramas as combining marks, which `\w` leaves out; taken for punctuation,
# "สวัสดี" fell into "ส ว สด" and "धन्यवाद" into "धन यव द", and neither met a phrase.
_PUNCTUATION = re.compile(rf"[^\w\s'{MARKS}]+", re.UNICODE)


# The scripts whose runs are read character by character (`_kinds`): CJK, and Thai, which writes no spaces
# between words either ("ขอบคุณครับ" is "ขอบคุณ" and "ครับ").
_CJK_CHARS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f"
_CJK = re.compile(f"[{_CJK_CHARS}]")
# Runs of CJK (or Thai) characters and other words, apart: "ok谢谢" is "ok", "谢谢".
_TOKEN = re.compile(f"[{_CJK_CHARS}]+|[^\\s{_CJK_CHARS}]+")
MAX_CHARS = 60
_LONGEST_WORDS = max(len(words) for words in _BY_WORDS)
_LONGEST_CJK = max(len(words[0]) for words in _BY_WORDS if _CJK.match(words[0]))
# Who the customer is, closing a greeting ("Hi, I'm John", "您好，我是大陆游客"): nothing to look up yet, the
# question comes next. A Taiwanese trial's "您好，我是大陆游客" (hello, I'm a mainland visitor) was searched,
# and quoted the roaming rates for mainland China. Who is a name, capitalised where the script has capitals
# ("Hi, I'm stuck", "hi, this is urgent" stay questions), or after "my name is", "меня зовут", "我叫" any
# word; in Chinese "我是" a short description that ends in a person (游客, 用户, 学生, 客户: "我是在台湾买的"
# and "我是不是新用户" stay questions; one with 被 or 的 is a clause, what befell them:
# "您好，我是被盗刷的客户", a card-fraud victim, and "我是被骗的人" ask for help, though
# "我是你们的老客户" is who they are); in Korean
# "저는 …입니다". A capitalised word may be no name: "Hi, I am Locked Out", "Hello, this is Urgent" and "Hi,
# Refund Please here" ask for help (`_NOT_NAMES`; wordfreq cannot tell them apart, "john" is as common as
# "locked", and bot.kb's lists are above this module's layer).
_NAME = r"[^\W\d_][\w'’-]*"
_NAMES = rf"{_NAME}(?:\s+{_NAME})?"
_FROM = r"(?:\s+(?i:from)(?:\s+[\w'’&.-]+){1,3})?"
_NOT_NAMES_TEXT = (
    "locked out urgent refund please help stuck here lost new back again still just not unable trying"
    " waiting confused sorry desperate angry upset annoyed frustrated worried charged blocked hacked"
    " scammed banned unhappy disappointed calling writing contacting asking emailing texting"
)
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
_INTRODUCTIONS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"(?<![\w'’])(?i:i'm|i’m|im|i am|this is)\s+(?P<name>{_NAMES}){_FROM}",
        rf"(?<![\w'’])(?i:my name is|my name's|my name’s)\s+{_NAMES}",
        rf"(?<![\w'’])(?P<name>{_NAMES})\s+(?i:here)",
        rf"(?<!\w)(?i:я|это)\s+(?P<name>{_NAMES})",
        rf"(?<!\w)(?i:меня зовут)\s+{_NAMES}",
        rf"(?<![\w'’])(?i:saya|aku|nama saya|nama aku)\s+(?P<name>{_NAMES})",
        r"(?:我叫|我姓)[\u4e00-\u9fff]{1,4}",
        r"我是(?:你们的|您们的|贵公司的|贵司的)?(?:(?![不没吗呢么被的])[\u4e00-\u9fff]){0,5}[客户者生士姐哥友员人师长族民]",
        r"(?:저는|제\s*이름은)\s*[가-힣]{1,6}?(?:입니다|이에요|예요|이라고\s*합니다|라고\s*합니다)",
    )
)
_CLOSING = re.compile(r"[\s\W_]*$")


def small_talk(text: str) -> SmallTalk | None:
    """What `text` is when it holds nothing to look up (a greeting, thanks, goodbye or "ok"), else None.

    A message of emoji or symbols only ("👍", "🙏🙏", "😀😀🙏") is an "ok": looked up, it was refused and
    handed the customer to a person. So is a message of Korean emoticons only ("ㅠㅠ", "ㅋㅋㅋ")."""
    if text.strip() and not has_words(_KOREAN_EMOTICON.sub("", text)):
        return "ok"
    if len(text) > MAX_CHARS:
        return None
    # Traditional characters as Simplified: 謝謝 is 谢谢 (the phrases are written once).
    text = to_simplified(text, words=False)
    kind = _phrases(text)
    return "greeting" if kind is None and _greets_then_introduces(text) else kind


def _phrases(text: str) -> SmallTalk | None:
    """What `text` (in Simplified characters) is when its words are all small talk, else None."""
    # Emoji and punctuation go ("Thanks!! 🙏").
    tokens = _TOKEN.findall(_PUNCTUATION.sub(" ", _fold(text).replace("’", "'")))
    found = _kinds(tokens, cjk=False) if tokens else None
    if found and "yes_please" in found:
        return None
    if found and "hello_or_bye" in found:
        found.add("goodbye" if found & {"thanks", "ok", "goodbye"} else "greeting")
    return next((kind for kind in _PRIORITY if kind in found), None) if found else None


def _greets_then_introduces(text: str) -> bool:
    """Whether `text` is a greeting followed by who the customer is (`_INTRODUCTIONS`), and nothing else."""
    body = _CLOSING.sub("", text)
    for start in range(1, len(body)):
        for pattern in _INTRODUCTIONS:
            match = pattern.fullmatch(body, start)
            if match is None:
                continue
            name = match.groupdict().get("name") or ""
            words = name.split()
            if (
                all(word[0].isupper() and word.lower() not in _NOT_NAMES for word in words)
                and _phrases(body[:start]) == "greeting"
            ):
                return True
    return False


def _kinds(units: list[str], *, cjk: bool) -> set[_Kind] | None:
    """The kinds of small talk `units` are made of, longest phrases first, fillers allowed; None when
    something else is in them. Units are words or, inside a CJK or Thai run (`cjk`), its characters."""
    found: set[_Kind] = set()
    i = 0
    while i < len(units):
        for size in range(min(_LONGEST_CJK if cjk else _LONGEST_WORDS, len(units) - i), 0, -1):
            piece = units[i : i + size]
            kind = _BY_WORDS.get(("".join(piece),) if cjk else tuple(piece))
            if kind is not None:
                found.add(kind)
                i += size
                break
            # Inside a run a filler may be a word of several characters: Thai "ครับ", "มากๆ".
            if cjk and size > 1 and "".join(piece) in _FILLERS:
                i += size
                break
        else:
            unit = units[i]
            # A CJK run that is not one phrase may be several with fillers ("你好啊", "好的谢谢").
            inner = _kinds(list(unit), cjk=True) if not cjk and _CJK.match(unit) else None
            if inner:
                found |= inner
            elif unit not in _FILLERS and not _KOREAN_EMOTICON.fullmatch(unit):
                return None
            i += 1
    return found


# -- asking for a person ---------------------------------------------------------------------------------

# "I want to talk to a person", "human", "can I speak to an agent?", "me pasas con un agente?": the customer
# wants what the "Talk to a human" button does, and looked up the message was refused as a question the help
# center does not answer (before the handoff that followed), or answered with a section that happened to say
# "agente". Each shipped language as a pattern (lead words in any order, a verb, whom, polite tails), matched
# only against the whole message, so "how do I tell the courier to wait?" stays a question. Patterns and
# message are compared without accents: customers leave them out ("pasame con un operador").
_WHOM = (
    r"(?:a\s+|an\s+|some\s+|your\s+|the\s+)?(?:real\s+|live\s+|actual\s+)?"
    r"(?:human|humans|person|agent|operator|somebody|someone|representative|rep|staff|employee"
    r"|support agent|customer service|customer support|support team)(?:\s+being)?"
)
_PERSON_EN = (
    r"(?:(?:hi|hello|hey|please|pls|plz|ok|so|can|could|may|i|we|want|wanna|would|like|to|need|let|me|how"
    r"|do|you|just|i'd|id|i'm|im|this|that|it|is|isn't|isnt|doesn't|doesnt|not|no|help|helping|useful"
    r"|don't|dont|chat|with|a|bot|the|stop|rather)\s+)*"
    rf"(?:(?:talk|speak|chat|connect|get|put|transfer)\s+(?:me\s+)?(?:to\s+|with\s+|through\s+to\s+)?{_WHOM}"
    r"|(?:a\s+|real\s+|live\s+)*(?:human|agent|operator|real person|live agent|representative))"
    r"(?:\s+(?:please|pls|plz|now|asap|thanks|thank you|instead|not a bot|not the bot))*"
)
_PERSON_ES = (
    r"(?:(?:hola|buenas|buenos|dias|tardes|oye|por|favor|porfa|porfavor|no|me|te|sirve|ayuda|ayudas|esto|eso"
    r"|pero|y|ya|yo|puedo|se|puedes|puede|podrias|podria|pueden|quiero|quisiera|necesito|gustaria|deseo|prefiero"
    r"|mejor|solo)\s+)*"
    r"(?:(?:hablar|comunicarme|contactar|pasar|pasarme|pasame|pasas|pasa|pasan|ponerme|ponme|pones"
    r"|transferir|transfiereme|chatear|conversar)\s+(?:me\s+)?(?:con\s+|a\s+)?"
    r"(?:un\s+|una\s+|algun\s+|alguna\s+)?(?:persona real|persona|humano|agente|operador|operadora|asesor"
    r"|asesora|alguien|representante|empleado|empleada|atencion al cliente|servicio al cliente|soporte)"
    r"(?:\s+(?:real|humano|de atencion al cliente|del servicio al cliente|de soporte|de verdad))?"
    r"|(?:un\s+|una\s+)?(?:humano|agente|operador|operadora|asesor|persona real|agente humano))"
    r"(?:\s+(?:por favor|porfa|ya|ahora|ahora mismo|gracias|no un bot|no un robot|no una maquina))*"
)
_PERSON_FR = (
    r"(?:(?:bonjour|salut|svp|stp|s'il|vous|te|plait|plaît|je|j'aimerais|j'voudrais|veux|voudrais|aimerais"
    r"|souhaite|souhaiterais|peux|pouvez|pourriez|puis|est|ce|que|qu'on|on|me|moi|ca|ne|aide|m'aide|m'aidez"
    r"|pas|sert|a|rien|merci|je|prefere|plutot|juste)\s+)*"
    r"(?:(?:parler|discuter|echanger|passer|me passer|joindre|contacter|avoir|mettre en relation"
    r"|me mettre en relation|etre mis en relation|etre mise en relation)\s+"
    r"(?:a\s+|avec\s+|en relation avec\s+)?(?:un\s+|une\s+|un vrai\s+|une vraie\s+|le\s+|la\s+)?"
    r"(?:humain|personne|conseiller|conseillere|agent|operateur|operatrice|quelqu'un|service client"
    r"|vraie personne|etre humain|personne reelle)"
    r"|(?:un\s+|une\s+)?(?:humain|conseiller|conseillere|operateur|vraie personne|agent humain))"
    r"(?:\s+(?:svp|stp|s'il vous plait|s'il te plait|merci|maintenant|pas un robot|pas un bot))*"
)
_PERSON_PT = (
    r"(?:(?:oi|ola|bom|boa|dia|tarde|noite|por|favor|pfv|pf|eu|quero|queria|gostaria|preciso|posso|pode|podes"
    r"|voce|vc|me|isso|nao|ta|esta|ajudando|ajuda|adianta|resolve|resolveu|so|mas|ja|entao|robo|bot|de)\s+)*"
    r"(?:(?:falar|conversar|chamar|contatar|contactar|ser atendido|ser atendida)\s+"
    r"(?:com\s+|pra\s+|para\s+|por\s+|a\s+)?"
    r"(?:um\s+|uma\s+|algum\s+|alguma\s+|o\s+|a\s+)?(?:atendente|pessoa|humano|ser humano|operador"
    r"|operadora|agente|alguem|consultor|consultora|suporte|sac|atendimento humano|atendimento)"
    # Passing on or transferring only to support: "quero transferir para uma pessoa" sends money.
    r"|(?:passar|passa|me passa|transferir|transfere|transfira|me transfere|me transfira)\s+"
    r"(?:com\s+|pra\s+|pro\s+|para\s+|a\s+)?(?:um\s+|uma\s+|o\s+|a\s+)?"
    r"(?:atendente|humano|ser humano|operador|operadora|suporte|sac|atendimento humano|atendimento)"
    r"|(?:um\s+|uma\s+)?(?:atendente|humano|atendimento humano|pessoa de verdade|pessoa real|operador))"
    r"(?:\s+(?:de verdade|real|humano|humana|por favor|pfv|agora|urgente|obrigado|obrigada|nao um robo"
    r"|nao robo|nao um bot|nao bot))*"
)
# Italian: an Italian trial's "voglio parlare con un operatore", "mi passi un operatore?" and "operatore" were
# refused. Passing on or transferring only to support, as in Portuguese: "posso trasferire il credito a
# un'altra persona?" sends money. No "contattare": "come contattare l'assistenza clienti?" asks for the
# contact details, as "Wie erreiche ich den Kundenservice?" does.
_PERSON_IT = (
    r"(?:(?:ciao|salve|buongiorno|buonasera|per|favore|perfavore|piacere|io|voglio|vorrei|volevo|preferisco"
    r"|preferirei|posso|potrei|puoi|potresti|puo|potrebbe|potete|mi|ci|non|serve|servi|aiuta|aiuti|questo"
    r"|cosi|ma|allora|solo|ok|grazie|come|faccio|si|a|e)\s+)*"
    # "avere" only with a person: "posso avere supporto?" asks for help, not for someone.
    r"(?:avere\s+(?:un\s+|una\s+|un'|l')?(?:operatore|operatrice|persona|umano|addetto|addetta|consulente|agente)"
    r"|(?:parlare|chattare|scrivere|parlo|sentire|essere messo|essere messa"
    r"|mettermi in contatto|essere messo in contatto|essere messa in contatto)\s+"
    r"(?:con\s+|a\s+)?(?:un\s+|una\s+|un'|l'|lo\s+|la\s+|qualche\s+)?"
    r"(?:operatore|operatrice|persona|umano|essere umano|addetto|addetta|consulente|assistente|qualcuno"
    r"|agente|assistenza clienti|servizio clienti|customer care|supporto)"
    r"|(?:passare|passarmi|passi|passa|passami|passate|passatemi|trasferire|trasferirmi|trasferisci"
    r"|trasferisca|trasferiscimi|trasferitemi|mettere|mettermi|metti|mette|mettimi)\s+"
    r"(?:in contatto\s+)?(?:con\s+|a\s+)?(?:un\s+|una\s+|un'|l'|lo\s+|la\s+|all'|al\s+)?"
    r"(?:operatore|operatrice|umano|essere umano|addetto|addetta|consulente|assistenza clienti"
    r"|servizio clienti|customer care|supporto|assistenza|persona vera|persona reale)"
    r"|(?:un\s+|una\s+|un'|l')?(?:operatore|operatrice|umano|essere umano|persona vera|persona reale))"
    r"(?:\s+(?:umano|umana|vera|vero|reale|in carne e ossa|dell'assistenza clienti|dell'assistenza"
    r"|del servizio clienti|del supporto|per favore|perfavore|per piacere|grazie|subito|adesso|ora"
    r"|non un bot|non un robot|non con un bot|non con il bot|non una macchina))*"
)
# Dutch (the Netherlands and Flanders): "ik wil een medewerker spreken", "mag ik een mens?", "kan ik iemand
# bellen?" and "klantenservice graag" were looked up as questions. Dutch puts the verb last ("… een medewerker
# spreken") or first ("verbind me door met …"), so verbs are lead words and tails alike. Phoning is asked of
# people only: "hoe kan ik de klantenservice bellen?" asks for the number, and "hoe neem ik contact op met de
# klantenservice?" and "hoe bereik ik de klantendienst?" for the contact details, as "Wie erreiche ich den
# Kundenservice?" does.
_NL_TAIL = (
    r"spreken|te spreken|praten|chatten|hebben|krijgen|graag|alsjeblieft|alstublieft|aub|a u b|svp|please|pls"
    r"|nu|nu meteen|meteen|zsm|asap|dank je|dank je wel|bedankt|kan dat|geen bot|geen robot|geen chatbot"
    r"|niet de bot|niet met de bot|niet met een bot|in plaats van de bot|in plaats van een bot"
    r"|van de klantenservice|van de klantendienst|van het team|van jullie|van jullie klantenservice"
)
_PERSON_NL = (
    r"(?:(?:hoi|hallo|hee|hey|goedemorgen|goedemiddag|goedenavond|dag|hoe|ik|wil|wou|zou|graag|kan|kun|kunt"
    r"|kunnen|mag|je|jij|jullie|u|me|mij|even|nou|gewoon|liever|toch|nu|alsjeblieft|alstublieft|aub|oke|ok"
    r"|dit|dat|het|helpt|werkt|niet|nee|maar|geen|bot|chatbot|verbind|verbinden|doorverbinden|door|geef"
    r"|krijg|krijgen|spreken|praten|chatten)\s+)*"
    r"(?:met\s+|naar\s+)?(?:een\s+|de\s+|het\s+|jullie\s+)?(?:echte?\s+|levende?\s+|menselijke?\s+)?"
    rf"(?:(?:medewerker|medewerkster|mens|persoon|iemand|agent|operator)(?:\s+(?:{_NL_TAIL}|bellen"
    r"|aan de lijn|aan de telefoon))*"
    rf"|(?:klantenservice|klantendienst)(?:\s+(?:{_NL_TAIL}))*)"
)
# Indonesian: an Indonesian e-wallet's trial's "mau ngomong sama CS" was refused as a question the help
# center does not answer. A verb (talk, chat, connect, pass on) and whom ("CS", "agen", "petugas", "manusia"),
# or whom alone after a wish ("minta CS dong"); "orang" (a person) only after a verb. How to reach the service
# is a question for the help center ("gimana cara menghubungi customer service?", "nomor cs berapa?", "cs
# buka jam brp"), as "hoe neem ik contact op met de klantenservice?" is; so is an "agen" who tops up a wallet
# ("cara daftar jadi agen", "agen terdekat di mana").
_ID_WHOM = (
    r"(?:tim\s+)?(?:cs|customer service|customer care|customer support|layanan pelanggan"
    r"|agen|agent|live agent|petugas|operator|admin|manusia|staf|staff|support|human)"
    r"(?:\s+(?:nya|manusia|asli|beneran|yang asli|lintas|langsung))*"
)
# "with" or "to" before whom: "ngomong sama CS", "sambungkan ke agen".
_ID_TO = r"sama|dengan|dgn|ke|kepada|sm|ama|ma"
# What may come between a wish and whom: "mau sama CS", "minta tolong ke admin", "mau ke agen aja".
_ID_WISH_FILLER = rf"{_ID_TO}|tolong|dong|aja|saja|ke\s+tim"
_ID_TAIL = (
    r"dong|donk|please|pls|plis|tolong|segera|sekarang|skrg|aja|saja|ya|yah|min|kak|gan|sis|langsung"
    r"|bukan bot|bukan robot|bukan mesin|jangan bot|bukan sama bot|jangan sama bot|terima kasih|makasih|thx"
    r"|bisa|bisa gak|bisa ga|bisa nggak|bisa tidak|gak|ga|nggak|tidak|bisakah"
)
_PERSON_ID = (
    r"(?:(?:halo|hai|pagi|siang|sore|malam|min|kak|gan|tolong|mohon|bisa|bisakah|boleh|saya|aku|gw|gue|sy"
    r"|mau|ingin|pengen|pingin|pgn|minta|dong|please|pls|langsung|aja|saja|tapi|udah|sudah|ini|bot|nya"
    r"|gak|ga|nggak|tidak|membantu|bantu|ngebantu|jawabannya|jawaban|percuma|males|capek|ya|kok|cepat"
    r"|cepetan)\s+)*"
    r"(?:(?:ngomong|bicara|berbicara|ngobrol|mengobrol|chat|chatting|terhubung|dihubungkan|disambungkan"
    r"|sambungkan|sambungin|hubungkan|hubungin|hubungi|konek|connect|dialihkan|alihkan|dioper|oper"
    r"|diteruskan|teruskan|lanjut|lanjutkan)(?:\s+(?:saya|aku|gw|gue|sy))?"
    rf"(?:\s+(?:{_ID_TO}))?\s+"
    rf"(?:{_ID_WHOM}|orang(?:\s+(?:asli|beneran|cs))?)"
    # Whom alone only after an Indonesian wish ("minta CS dong", "mau agen") or in Indonesian words ("CS",
    # "petugas"): alone, "admin", "staff" or "customer service" is an English help center's topic (admin
    # accounts, staff seats), no request.
    rf"|(?:minta|mau|ingin|pengen|pingin|pgn|tolong|mohon)\s+(?:(?:{_ID_WISH_FILLER})\s+)*{_ID_WHOM}"
    r"|(?:tim\s+)?(?:cs|petugas|layanan pelanggan|manusia)(?:\s+(?:nya|asli|beneran|yang asli|langsung))*)"
    rf"(?:\s+(?:{_ID_TAIL}))*"
)
# Turkish: a Turkish marketplace's trial's "müşteri temsilcisiyle görüşmek istiyorum", "canlı destek",
# "temsilciye bağlar mısın" and "insanla konuşmak istiyorum" were looked up (one quoted the account-closure
# section). Turkish puts whom first, with its case ending, and the verb last: whom ("müşteri temsilcisi",
# "canlı destek", "yetkili", "operatör", "insan", or "biri" after a verb) then talking, connecting or
# passing on (görüşmek istiyorum, konuşabilir miyim, bağlar mısınız, bağla, aktarın), or a wish (istiyorum,
# lazım). Written as Turkish writes it; compared, as the message is, with its letters folded to ASCII
# (`_as_compared`), so "canli destege baglanmak istiyorum" is the same request. Whom alone is a request in
# Turkish words, as "CS" and "layanan pelanggan" are in Indonesian, "有人チャット" in Japanese and "人工客服"
# in Chinese: "canlı destek" is also the name of the trial's help-center section on the chat, but a
# customer who types only it wants what it names, and where nobody can be brought in the handoff shows the
# help center's contact details anyway (`CONTACT_QUESTION`); English "live chat" and "customer service" alone
# stay an English help center's topics. How or when to reach them is a question for the help center
# ("müşteri hizmetleri telefon numarası ne", "canlı destek saat kaçta açık", "canlı desteğe nasıl
# bağlanırım"), and the call center is only ever phoned, so "çağrı merkezi" asks for its number; a seller
# ("satıcıyla görüşmek istiyorum") is no one from the support team.
_TR_WHOM = (
    r"(?:bir\s+)?(?:gerçek\s+|canlı\s+)?(?:bir\s+)?"
    r"(?:(?:müşteri\s+)?temsilci(?:si(?:yle|ne|ni)?|niz(?:le|e|i)?|yle|ye|ler(?:inizden\s+biri(?:yle|ne)?"
    r"|inizle|inize|le|e)?)?"
    # "Canlı Destek'e": the name of the app's button, with its case ending after an apostrophe.
    r"|canlı\s+(?:destek(?:'?(?:e|le|i|ten)|\s+hattı(?:na)?|\s+ekibi(?:yle|ne|niz(?:le|e)?)?)?|desteğe|desteği"
    r"|sohbet(?:e|i)?|temsilci(?:ye|yle)?)"
    r"|müşteri\s+hizmetleri(?:ne|yle|niz(?:le|e)?|nden\s+biri(?:yle|ne)?)?"
    r"|destek\s+ekibi(?:yle|ne|niz(?:le|e)?)?"
    r"|yetkili(?:\s+(?:biri|kişi)(?:yle|ne|ye)?|yle|ye|niz(?:le|e)|si(?:yle|ne))?"
    r"|operatör(?:le|e|ü)?|insan(?:la|a)?|gerçek\s+(?:biri(?:yle|ne|siyle|sine)?|kişi(?:yle|ye)?))"
    r"(?:\s+ile)?"
)
_TR_ME = r"beni|bana|benim"
_TR_VERB = (
    r"(?:(?:görüş|konuş|yazış|bağlan|iletişime\s+geç)(?:mek|mak|mem|mam)(?:\s+(?:istiyorum|istiyoruz|isterim"
    r"|istiyordum|lazım|gerek|gerekiyor))?"
    r"|(?:görüş|konuş|yazış|bağlan|iletişime\s+geç)(?:ebilir|abilir)\s*mi(?:yim|yiz)"
    r"|görüşeyim|konuşayım|bağlanayım"
    r"|(?:bağla|aktar|yönlendir)(?:\s*(?:yın|ın|in|yınız|ınız|iniz|sana|r\s*mı(?:sın|sınız)|ır\s*mı(?:sın|sınız)"
    r"|ir\s*mi(?:sin|siniz)|yabilir\s*mi(?:sin|siniz)|abilir\s*mi(?:sin|siniz)|ebilir\s*mi(?:sin|siniz)))?"
    r"|istiyorum|istiyoruz|isterim|lazım|rica\s+ediyorum)"
)
_TR_LEAD = (
    r"merhaba|merhabalar|selam|mrb|slm|iyi|günler|akşamlar|lütfen|ben|beni|bana|acaba|artık|yeter|hayır"
    r"|tamam|hemen|acil|bot|botla|robotla|değil|bu|işe|yaramıyor|yardımcı|olmuyor|olmadı|sen|siz|ama|ya"
)
_TR_TAIL = (
    r"lütfen|acil|acilen|hemen|şimdi|artık|rica\s+ediyorum|teşekkürler|bot\s+değil|botla\s+değil"
    r"|robot\s+değil|robotla\s+değil|ya|abi|hocam|efendim|yok\s+mu|var\s+mı"
)
_PERSON_TR = (
    rf"(?:(?:{_TR_LEAD})\s+)*"
    rf"(?:(?:(?:{_TR_ME})\s+)?{_TR_WHOM}\s+(?:(?:{_TR_ME})\s+)?{_TR_VERB}"
    rf"|{_TR_VERB}\s+(?:(?:{_TR_ME})\s+)?{_TR_WHOM}"
    r"|(?:biri|birisi)(?:yle|ne)\s+(?:görüş|konuş)(?:mek|mak)\s+(?:istiyorum|lazım)"
    # Whom alone, in its own case only: "canlı destek", "müşteri temsilcisi", "operatör".
    r"|(?:bir\s+)?(?:canlı\s+destek|(?:müşteri\s+)?temsilci(?:si)?|müşteri\s+hizmetleri|yetkili|operatör"
    r"|canlı\s+temsilci|gerçek\s+insan|insan))"
    rf"(?:\s+(?:{_TR_TAIL}))*"
)
# Vietnamese (compared without marks, as customers often type: "cho em gap nhan vien"): a Vietnamese
# telecom's trial's "cho em gặp nhân viên" and "muốn nói chuyện với CSKH" were refused as questions the help
# center does not answer. A verb (gặp, nói chuyện, kết nối, chuyển máy) and whom (nhân viên, tổng đài viên,
# tư vấn viên, CSKH, or "người" after a verb), or whom alone in words only support staff are called (an
# English help center's "admin", "agent", "staff" are its topics, 1d24c72), or after a wish ("cần nhân viên
# hỗ trợ"). How to reach them is a question for the help center ("số tổng đài cskh là gì", "tong dai cskh so
# may", "cửa hàng gần nhất ở đâu"): "tổng đài" (the hotline) alone, a number or a place never asks.
_VI_STAFF = (
    r"(?:nhân viên|nv|tổng đài viên|tư vấn viên|hỗ trợ viên|chăm sóc viên|điện thoại viên|cskh|cs"
    r"|chăm sóc khách hàng|bộ phận cskh|bộ phận chăm sóc khách hàng|bộ phận hỗ trợ|người hỗ trợ)"
    r"(?:\s+(?:hỗ trợ|tư vấn|cskh|chăm sóc khách hàng|tổng đài|trực|thật|thực|của shop|bên shop|ạ))*"
)
_VI_WHOM = (
    rf"(?:{_VI_STAFF}|tổng đài|tư vấn|admin|ad|shop|người thật|người thực|con người|người"
    r"|operator|agent|staff|support)(?:\s+(?:thật|thực|hỗ trợ|tư vấn|trực|ạ))*"
)
_VI_TAIL = (
    r"ạ|a|với|vs|nha|nhé|nhe|đi|ngay|luôn|gấp|giúp|giùm|dùm|em|mình|tôi|được không|được ko|được k|dc ko"
    r"|đc ko|dc k|đc k|được chứ|với ạ|được không ạ|ad|shop|ơi|nè|không phải bot|ko phải bot"
    r"|chứ không phải bot|đừng bot|không muốn nói với bot|cảm ơn|thanks"
)
_PERSON_VI = (
    r"(?:(?:alo|chào|xin chào|ad|shop|ơi|cho|xin|em|e|mình|tôi|tui|t|anh|chị|muốn|mún|cần|làm ơn|vui lòng"
    r"|hãy|có thể|được|đc|dc|bot|không|ko|k|giúp|giùm|trả lời|hiểu|vô dụng|chán|thôi|cho hỏi|xin được"
    r"|mình muốn|cho mình|cho em|cho tôi)\s+)*"
    # Not "gọi" (call) nor "liên hệ" (contact): "gọi tổng đài" wants the number the help center gives.
    r"(?:(?:gặp|nói chuyện|nc|trò chuyện|chat|trao đổi|kết nối|nối máy|chuyển máy|chuyển"
    r"|được gặp|được nói chuyện|được kết nối)(?:\s+(?:trực tiếp|với|vs|cho|sang|qua|tới|đến|lên))*"
    rf"\s+{_VI_WHOM}"
    rf"|(?:muốn|cần|xin|cho)\s+(?:(?:em|mình|tôi|gặp|được)\s+)*{_VI_STAFF}"
    r"|(?:nhân viên|tổng đài viên|tư vấn viên|nhân viên hỗ trợ|nhân viên tư vấn|nhân viên cskh"
    r"|người thật)(?:\s+(?:hỗ trợ|tư vấn|cskh|ơi|đâu))?)"
    rf"(?:\s+(?:{_VI_TAIL}))*"
)
# Thai, written without spaces (spaces a customer types are allowed between the parts): a verb (คุย, พูด,
# ติดต่อ, ต่อสาย, โอนสาย, ขอสาย) with or without "กับ" and whom (เจ้าหน้าที่, พนักงาน, แอดมิน, ฝ่ายบริการลูกค้า,
# or "คน" after a verb), a wish (ขอ, ต้องการ, อยากได้) and staff, or the staff alone (เจ้าหน้าที่, พนักงาน),
# with the polite particles and tails ("ได้ไหม", "หน่อย", "ด้วย"). "ติดต่อเจ้าหน้าที่" is what Thai chat menus
# call the handoff. How or when to reach them is a question for the help center ("ติดต่อเจ้าหน้าที่ได้อย่างไร",
# "เบอร์โทรเจ้าหน้าที่", "เจ้าหน้าที่ทำงานกี่โมง"), and so is passing money on ("โอนเงินให้พนักงาน": "โอน" alone is
# no "โอนสาย").
_TH_PARTICLES = r"ครับ|ค่ะ|คะ|คับ|ค่า|จ้า|จ้ะ|นะ|น้า|ฮะ|งับ|ครับผม|ค้าบ|คร้าบ"
_TH_STAFF = r"(?:เจ้าหน้าที่|พนักงาน)(?:\s*(?:ฝ่ายบริการลูกค้า|บริการลูกค้า|ฝ่ายดูแลลูกค้า|ตัวจริง|ที่เป็นคน))*"
_TH_WHOM = (
    rf"(?:{_TH_STAFF}|แอดมิน|แอด|ทีมงาน|ฝ่ายบริการลูกค้า|ฝ่ายลูกค้าสัมพันธ์|คอลเซ็นเตอร์|call\s*center|คนจริงๆ"
    r"|คนจริง|คน|มนุษย์|admin|agent|staff)(?:\s*(?:ตัวจริง|จริงๆ|ที่เป็นคน))*"
)
_PERSON_TH = (
    rf"(?:(?:สวัสดี|หวัดดี|{_TH_PARTICLES}|แอดมิน|แอด|น้อง|พี่|ผม|ฉัน|หนู|เรา|ดิฉัน|ขอ|อยาก|อยากจะ|ต้องการ|รบกวน"
    r"|ช่วย|กรุณา|โปรด|บอท|ไม่เข้าใจ|ไม่ช่วย|ช่วยไม่ได้|ตอบไม่ตรง|ไม่ตรง|ไม่เอาบอท|ไม่คุยกับบอท|เลย|please"
    r"|pls)\s*)*"
    r"(?:(?:คุย|พูด|พูดคุย|ติดต่อ|ต่อสาย|โอนสาย|ขอสาย|แชท|แชต|สนทนา|ปรึกษา)\s*(?:กับ|หา|ถึง|ไปที่|ไปหา|ให้)?"
    rf"\s*{_TH_WHOM}"
    rf"|(?:ขอ|ต้องการ|อยากได้|เรียก)\s*{_TH_STAFF}"
    rf"|{_TH_STAFF})"
    rf"(?:\s*(?:{_TH_PARTICLES}|หน่อย|ด้วย|ที|ได้ไหม|ได้มั้ย|ได้มั๊ย|ได้ป่าว|ได้ปะ|ได้หรือไม่|ได้รึเปล่า"
    r"|เลย|ด่วน|ตอนนี้|ทันที|please|pls|ไม่เอาบอท|ไม่ใช่บอท|แทนบอท|ขอบคุณ))*"
)
# Hindi, in Devanagari or in Latin letters: whom (एजेंट, कस्टमर केयर, सपोर्ट टीम, ग्राहक सेवा, "किसी इंसान")
# with "से" and talking (बात करनी है, बात करना चाहता हूँ, बात कराइए, बात करवा दो) or connecting (जोड़ दो,
# कनेक्ट कीजिए), or whom and a wish ("मुझे एजेंट चाहिए"). Whom alone stays a question, as an "agen" does in
# Indonesian: Indian help centers have agents who sell or pay out. How or when to reach them is a question
# for the help center ("कस्टमर केयर का नंबर क्या है", "एजेंट से बात कैसे करें"), and so is anything else done
# with an agent ("एजेंट से पैसे कैसे निकालें", "मुझे एजेंट बनना है").
_HI_WHOM = (
    r"(?:किसी\s+|कोई\s+|एक\s+|kisi\s+|koi\s+)?(?:असली\s+|रियल\s+|asli\s+|real\s+)?"
    r"(?:एजेंट|कस्टमर\s+केयर(?:\s+एजेंट)?|कस्टमर\s+सपोर्ट|कस्टमर\s+सर्विस|सपोर्ट\s+टीम|सपोर्ट\s+एजेंट"
    r"|ग्राहक\s+सेवा(?:\s+प्रतिनिधि)?|प्रतिनिधि|इंसान|इन्सान|व्यक्ति|आदमी|ऑपरेटर|एग्जीक्यूटिव|एक्जीक्यूटिव"
    r"|agent|customer\s+care(?:\s+agent)?|customer\s+support|customer\s+service|support\s+team|insaan|insan"
    r"|operator|executive)"
)
_HI_AM = r"(?:हूँ|हूं|hu|hoon|hun)"
_HI_TALK = (
    r"(?:बात|baat|bat)(?:\s+(?:करनी\s+है|करना\s+है|करनी\s+हैं|करना\s+(?:चाहता|चाहती)\s+"
    rf"{_HI_AM}|करना\s+चाहते\s+हैं|करना\s+चाहूँगा|करना\s+चाहूँगी|कर\s+(?:सकता|सकती)\s+{_HI_AM}"
    r"|कर\s+सकते\s+हैं|करें|करूँ|करूं|(?:करा|करवा)\s+(?:दो|दीजिए|दीजिये|दें|दे)|कराओ|कराइए|कराइये|कराएँ|कराएं"
    r"|करवाओ|करवाइए|करवाइये|करवाएँ|करवाएं|(?:karni|karna|krni|krna)\s+(?:hai|h|he)"
    rf"|(?:karna|krna)\s+(?:chahta|chahti)\s+{_HI_AM}|kar\s+(?:sakta|sakti)\s+{_HI_AM}|karao|karwao|krao|krwao"
    r"|(?:kara|karwa)\s+(?:do|dijiye|de)|karaiye|karwaiye))?"
)
_HI_CONNECT = (
    r"(?:जोड़\s+(?:दो|दीजिए|दीजिये|दें)|जोड़ो|जोड़िए|जोड़िये|जोड़ें|कनेक्ट\s+(?:करो|करें|कीजिए|कीजिये|करिए"
    r"|कर\s+दो|कर\s+दीजिए|करा\s+दो|करवा\s+दो|करवाइए)|(?:connect|jod)\s+(?:karo|kar\s+do|kijiye|karwa\s+do"
    r"|karao|karwao|do|dijiye)|jodo)"
)
_HI_LEAD = (
    r"नमस्ते|नमस्कार|हेलो|हैलो|प्लीज़|प्लीज|कृपया|मुझे|मुझको|मैं|हमें|क्या|आप|भाई|भैया|सर|जी|सुनिए|बॉट|यह|ये"
    r"|मदद|नहीं|हो|रही|रहा|है|से|अभी|please|plz|pls|mujhe|muje|mujhko|main|mai|kya|aap|bhai|sir|ji|hello"
    r"|namaste|bot|nahi|madad|ho|rahi|raha|hai|abhi"
)
_HI_TAIL = (
    r"प्लीज़|प्लीज|कृपया|please|plz|pls|जी|ji|अभी|abhi|जल्दी|jaldi|तुरंत|turant|धन्यवाद|शुक्रिया|dhanyavad"
    r"|thanks|भाई|bhai|सर|sir|बॉट\s+नहीं|bot\s+nahi"
)
_PERSON_HI = (
    rf"(?:(?:{_HI_LEAD})\s+)*"
    rf"(?:{_HI_WHOM}\s+(?:से|se)\s+(?:{_HI_TALK}|{_HI_CONNECT})"
    rf"|{_HI_WHOM}\s+(?:चाहिए|चाहिये|chahiye|chaiye|chahie))"
    rf"(?:\s+(?:{_HI_TAIL}))*"
)
# Arabic (the Gulf, Egypt, the Levant; compared folded, `_arabic_folded`, so "أريد" is "اريد" and "خدمة" is
# "خدمه"), and in Latin letters as many write it ("abi akalem mowazaf"): a wish (ابي, ابغى, اريد, بدي, عايز,
# ممكن), talking (اكلم, اتكلم, اتحدث, احكي, التحدث, التواصل) and whom (موظف, خدمة العملاء, الدعم, "حد" or
# "انسان" after a verb), asking to be put through (حولني, وصلني, كلمني) and whom, a wish and staff ("ممكن
# موظف"), or staff alone ("موظف", "خدمة العملاء", and the button's own "التحدث مع موظف"). How or when to
# reach them is a question for the help center ("كيف اكلم موظف؟", "رقم خدمة العملاء", "متى يرد الموظف"), and
# so is the courier ("ابي اكلم المندوب": a delivery man, no one from the support team) and money passed on
# ("ابي احول فلوس لموظف"); a negation is no lead word ("ما ابي اكلم موظف", "مش عايز اكلم حد"), though a
# complaint about the bot is ("البوت ما يفهم، ابي موظف").
_AR_WISH = (
    r"(?:انا\s+)?(?:ابي|ابغي|ابغا|ابا|بغيت|نبي|نبغي|اريد|نريد|بدي|بدنا|عايز|عاوز|عايزه|عاوزه|حاب|حابب|حابه|ودي"
    r"|محتاج|محتاجه|احتاج|اود|ارغب|ممكن|هل\s+ممكن|يمكنني|هل\s+يمكنني|ممكن\s+اني|اقدر|هل\s+اقدر|ينفع|بقدر"
    r"|(?:ana\s+)?(?:abi|abgha|abga|bidi|baddi|biddi|3ayez|3awez|3ayz|ayez|awez|areed|oreed)|mumkin|momken|mmkn)"
)
_AR_TALK = (
    r"(?:اكلم|اتكلم|اتحدث|احكي|احچي|اتواصل|اسولف|اشات|التحدث|التكلم|الكلام|الحديث|التواصل|المحادثه|محادثه"
    r"|الدردشه|akalem|akallem|akalim|atkalam|atkallam|at7adath|atwasal|a7ki|ahki)"
)
_AR_PUT_THROUGH = (
    r"(?:حولني|حولوني|تحولني|تحولوني|حوليني|وصلني|وصلوني|توصلني|اوصلني|كلمني|كلموني|خليني\s+اكلم|خلني\s+اكلم"
    r"|خليني\s+اتكلم|7awelni|7awilni|hawelni|wasselni|waselni|kalemni|kallemni|kalimni)"
)
# With "ال", "لل", "ل", "ب" or "بال" written on (حولني لموظف, وصلني بخدمة العملاء).
_AR_ON = r"(?:ال|لل|ل|ب|بال)?"
# Staff in Arabic words, which ask alone too; in English words ("customer service", "support") only after a
# verb or a wish: alone they are an English help center's topics.
_AR_STAFF_ALONE = (
    rf"(?:{_AR_ON}(?:موظف|موظفه|موظفين|مسوول|ممثل\s+خدمه\s+العملاء)(?:\s+(?:خدمه\s+(?:ال)?عملاء|الدعم"
    r"(?:\s+الفني)?|حقيقي|بشري|من\s+فريق\s+الدعم|من\s+خدمه\s+العملاء))?"
    rf"|{_AR_ON}(?:خدمه\s+(?:ال)?عملاء|خدمه\s+الزباين|خدمه\s+الزبائن|دعم\s+فني|الدعم\s+الفني|الدعم|فريق\s+الدعم"
    r"|كول\s+سنتر|الكول\s+سنتر)"
    r"|mowazaf|mowazzaf|muwazaf|muwazzaf|mwazaf)"
)
_AR_STAFF = rf"(?:{_AR_STAFF_ALONE}|customer\s+service|customer\s+support|support|agent)"
# "حد" and "احد" (someone), "انسان" (a human) and "شخص" (a person) only after a verb: "ممكن حد" asks for
# nothing.
_AR_WHOM = (
    rf"(?:{_AR_STAFF}|{_AR_ON}(?:انسان|بشر|شخص\s+حقيقي|شخص)|(?:احد|حد|واحد)(?:\s+(?:من\s+)?{_AR_STAFF})?"
    r"|ensan|insan|insaan|7ad|a7ad|ahad)(?:\s+(?:من\s+)?(?:عندكم|الشركه|men\s+customer\s+service))?"
)
_AR_TO = r"(?:مع|الي|علي|عند|ma3|m3|3ala|3la|ala|la|bi)"
_AR_LEAD = (
    r"السلام\s+عليكم|سلام|مرحبا|هلا|اهلا|لو\s+سمحت|لو\s+سمحتي|لو\s+سمحتم|من\s+فضلك|رجاء|ارجوك|ارجوكم|يا|اخي"
    r"|اخوي|بس|طيب|خلاص|يعني|الحين|البوت|بوت|يا\s+بوت|salam|hi|hello|please|plz|pls"
    # A complaint about the bot: "البوت ما يفهم", "مو مفيد", "انت ما تفهمني".
    r"|(?:(?:البوت|بوت|انت|هذا)\s+)?(?:ما|مو|مش|لا)\s+(?:يفهم|فهم|فهمت|فهمني|تفهم|تفهمني|يفيد|يفيدني|مفيد|ساعدني"
    r"|يساعد|يساعدني|تساعدني|نافع|نفعني|ينفع|فادني|مفهوم)"
)
_AR_TAIL = (
    r"لو\s+سمحت|لو\s+سمحتي|لو\s+سمحتم|من\s+فضلك|رجاء|اذا\s+ممكن|لو\s+ممكن|اذا\s+سمحت|لو\s+تكرمت|بسرعه|الحين"
    r"|الان|حالا|ضروري|مو\s+بوت|مش\s+بوت|مو\s+البوت|مش\s+البوت|بدل\s+البوت|مو\s+انت|مش\s+انت|شكرا|يا\s+ليت"
    r"|بليز|please|plz|pls"
)
_PERSON_AR = (
    rf"(?:(?:{_AR_LEAD})\s+)*"
    rf"(?:(?:{_AR_WISH}\s+)*{_AR_TALK}\s+(?:{_AR_TO}\s+)?{_AR_WHOM}"
    rf"|{_AR_PUT_THROUGH}\s+(?:{_AR_TO}\s+)?{_AR_WHOM}"
    rf"|(?:{_AR_WISH}\s+)+(?:{_AR_STAFF}|(?:احد|حد|شخص|انسان)\s+(?:يكلمني|يرد\s+علي|يرد\s+عليا|يتواصل\s+معي"
    r"|يساعدني|يتصل\s+بي|يتصل\s+فيني))"
    rf"|{_AR_STAFF_ALONE})"
    rf"(?:\s+(?:{_AR_TAIL}))*"
)
# Greek (compared without accents and with a word's final "ς" as "σ", `_greek_folded`, so "μιλήσω" is
# "μιλησω"), and in Greeklish as many Greek customers type it ("thelw na milisw me anthrwpo"): a wish (θέλω,
# θα ήθελα, μπορώ, μπορείτε, γίνεται), talking (να μιλήσω, να επικοινωνήσω, να συνομιλήσω) with whom (άνθρωπο,
# υπάλληλο, εκπρόσωπο, την εξυπηρέτηση πελατών, or "κάποιον" after a verb), asking to be put through
# (συνδέστε με, να με συνδέσετε, μεταφέρετέ με, δώστε μου) to whom, a wish and staff ("θέλω έναν εκπρόσωπο"),
# or staff alone ("εκπρόσωπο", "εκπρόσωπο παρακαλώ", and the button's own "Συνομιλία με εκπρόσωπο"). A Greek
# trial's "θέλω να μιλήσω με έναν άνθρωπο" quoted the support hours. How or when to reach them is a question
# for the help center ("πώς επικοινωνώ με την εξυπηρέτηση;", "τηλέφωνο εξυπηρέτησης πελατών"), and so is a
# negation ("δεν θέλω να μιλήσω με άνθρωπο"), though a complaint about the bot is a lead ("δεν με βοηθάτε").
_EL_PERSON = (
    r"(?:(?:ένας|έναν|ένα|μια|μία|τον|το|κάποιον|κάποιο|enan|ena|kapoion|kapoio|kapion|kapio)\s+)?"
    r"(?:πραγματικό\s+|αληθινό\s+|ζωντανό\s+|pragmatiko\s+|alithino\s+)?"
    r"(?:εκπρόσωπο(?:ς)?|υπάλληλο(?:ς)?|άνθρωπο(?:ς)?|ekpros[wo]po(?:s)?|[yui]pal{1,2}[ih]lo(?:s)?"
    r"|an(?:th|8)r[wo]po(?:s)?)"
)
# Staff in the support team's words, which ask alone too; a technician (τεχνικό), an operator (χειριστή) or
# customer service (εξυπηρέτηση πελατών) only after a verb or a wish, and support alone (υποστήριξη) only
# after a verb: "χρειάζομαι υποστήριξη" asks for help, not for someone.
_EL_STAFF_ALONE = (
    rf"{_EL_PERSON}(?:\s+(?:της\s+|από\s+την\s+|του\s+τμήματος\s+)?(?:εξυπηρέτησης|εξυπηρέτηση|υποστήριξης"
    r"|υποστήριξη)(?:\s+πελατών)?)?"
)
_EL_STAFF = (
    rf"(?:{_EL_STAFF_ALONE}|(?:έναν\s+|ένα\s+|τον\s+)?(?:τεχνικό|χειριστή|συνεργάτη|συνάδελφο)"
    r"|(?:την\s+)?(?:εξυπηρέτηση|υποστήριξη)\s+πελατών|(?:το\s+)?τμήμα\s+(?:εξυπηρέτησης|υποστήριξης)"
    r"(?:\s+πελατών)?|operator|agent)"
)
_EL_WHOM = (
    rf"(?:{_EL_STAFF}|την\s+(?:εξυπηρέτηση|υποστήριξη)|(?:κάποιον|κάποια|ένα\s+άτομο|kapoion|kapoio|kapion|kapio)"
    r"(?:\s+από\s+(?:την\s+)?(?:εξυπηρέτηση|υποστήριξη)(?:\s+πελατών)?)?)"
)
_EL_WISH = (
    r"(?:θέλω|θέλουμε|θα\s+ήθελα|ήθελα|μπορώ|μπορούμε|θα\s+μπορούσα|μπορείτε|μπορείς|θα\s+μπορούσατε|γίνεται"
    r"|είναι\s+δυνατόν|χρειάζομαι|προτιμώ|(?:th|8)el[wo]|tha\s+ithela|tha\s+hthela|mpor[wo]|mporeite"
    r"|ginetai|ginete)"
)
_EL_TALK = (
    r"(?:μιλήσω|μιλάω|μιλήσουμε|συνομιλήσω|επικοινωνήσω|έρθω\s+σε\s+επαφή|μπω\s+σε\s+επαφή|συνδεθώ"
    r"|mil[ih]s[wo]|milaw|milao|mil[ih]soume|epikoin[wo]n[ih]s[wo]|s[yiu]ndeth[wo])"
)
_EL_PUT_THROUGH = (
    r"(?:με\s+|me\s+)?(?:συνδέστε|συνδέσετε|συνδέετε|συνδέεις|συνδέσεις|συνδέσε|μεταφέρετε|μεταφέρεις"
    r"|περάστε|περάσετε|δώστε|δώσετε|s[yiu]ndeste|s[yiu]ndesete)(?:\s+(?:με|μου|me|mou))?"
)
_EL_LEAD = (
    r"γεια|γεια\s+σας|γεια\s+σου|καλημέρα|καλησπέρα|χαίρετε|παρακαλώ|σας\s+παρακαλώ|ρε|φίλε|εντάξει|οκ|ok"
    r"|απλά|απλώς|εγώ|λοιπόν|geia|geia\s+sas|kalimera|kalispera|parakal[wo]"
    # A complaint about the bot: "δεν με βοηθάτε", "το bot δεν καταλαβαίνει", "αυτό δεν βοηθάει".
    r"|(?:(?:το\s+)?(?:bot|μποτ|ρομπότ|αυτό)\s+)?(?:δεν|δε)\s+(?:με\s+)?(?:βοηθάει|βοηθάς|βοηθάτε|βοήθησε"
    r"|καταλαβαίνει|καταλαβαίνεις|καταλαβαίνετε|κατάλαβες|καταλάβατε)"
)
_EL_TAIL = (
    r"παρακαλώ|σας\s+παρακαλώ|ευχαριστώ|ευχαριστώ\s+πολύ|τώρα|άμεσα|αμέσως|γρήγορα|αν\s+γίνεται"
    r"|(?:και\s+)?όχι\s+(?:με\s+)?(?:το\s+|ένα\s+)?(?:bot|μποτ|ρομπότ)|please|pls|parakal[wo]|t[wo]ra"
)
_PERSON_EL = (
    rf"(?:(?:{_EL_LEAD})\s+)*"
    rf"(?:(?:{_EL_WISH}\s+)*(?:να\s+|na\s+)?{_EL_TALK}\s+(?:με|me)\s+{_EL_WHOM}"
    rf"|(?:{_EL_WISH}\s+)*(?:να\s+|na\s+)?{_EL_PUT_THROUGH}\s+(?:(?:με|σε|στον|στην|στο|me|se)\s+)?{_EL_WHOM}"
    rf"|(?:{_EL_WISH}\s+)+{_EL_STAFF}"
    rf"|συνομιλία\s+με\s+{_EL_STAFF}"
    rf"|{_EL_STAFF_ALONE})"
    rf"(?:\s+(?:{_EL_TAIL}))*"
)
# Persian (compared folded as its small talk is, `_arabic_folded`: "ی" is "ي", "ک" is "ك", "آ" is "ا", and a
# zero-width non-joiner is a space, so "می‌خوام", "می خوام" and "میخوام" are each `می\s?خوام`), and in Latin
# letters ("mikham ba operator harf bezanam"). Persian puts the verb last: a wish (میخوام, میشه, می‌تونم),
# then with whom (با کارشناس, با یه آدم, با پشتیبانی, با اپراتور) and talking (حرف بزنم, صحبت کنم, چت کنم),
# or talking first as chat has it ("میخوام صحبت کنم با کارشناس"); being put through (وصلم کنید, منو وصل کنید)
# to whom (به اپراتور), before it or after; staff and a wish ("کارشناس میخوام"); or staff alone ("کارشناس",
# "اپراتور", "کارشناس لطفا", and the button's own "گفت‌وگو با کارشناس"). How or when to reach them is a
# question for the help center ("شماره پشتیبانی چنده؟", "چطور با پشتیبانی صحبت کنم؟"), and so is a negation
# ("نمیخوام با اپراتور حرف بزنم"); "پشتیبان" alone is also a backup, and "پشتیبانی" alone the help center's
# topic.
_FA_STAFF_ALONE = (
    r"(?:یه\s+|یک\s+)?(?:کارشناس(?:\s+پشتیبانی)?|اپراتور|اوپراتور|karshenas|operator)"
    r"(?:\s+(?:واقعی|انسانی|vaghei))?"
)
_FA_STAFF = (
    rf"(?:{_FA_STAFF_ALONE}|(?:یه\s+|یک\s+|یکی\s+از\s+)?(?:کارشناس(?:ان|ا|\s?ها)|پشتیبان|پشتیبانی"
    r"|همکار(?:ان|ا|\s?ها)?(?:\s?تون|\s?تان)?|مسئول|مسول|نماینده|ادمین|آدم|انسان|شخص|نفر|poshtiban|poshtibani"
    r"|adam|ensan|nafar)(?:\s+(?:واقعی|پشتیبانی|انسانی|vaghei))?)"
)
_FA_WHOM = rf"(?:{_FA_STAFF}|یکی|کسی|یکی\s+از\s+شما|yeki|kasi)"
_FA_WISH = (
    r"(?:من\s+)?(?:می\s?خوام|می\s?خواهم|می\s?خواستم|خواستم|می\s?شه|ممکنه|امکانش\s+هست|امکان\s+داره"
    r"|می\s?تونم|می\s?توانم|لطفا|خواهشا|(?:man\s+)?(?:mikham|mikhastam)|mishe|mitunam|mitoonam|lotfan)"
)
_FA_TALK = (
    r"(?:حرف\s+بزنم|حرف\s+بزنیم|صحبت\s+کنم|صحبت\s+کنیم|گفتگو\s+کنم|گفت\s?و\s?گو\s+کنم|چت\s+کنم"
    r"|ارتباط\s+بگیرم|در\s+ارتباط\s+باشم|harf\s+bezanam|harf\s+bezanim|sohbat\s+konam|sohbat\s+konim"
    r"|chat\s+konam)"
)
_FA_PUT_THROUGH = (
    r"(?:(?:منو|من\s+را|من\s+رو|mano)\s+)?(?:وصلم|متصلم|منتقلم|وصل|متصل|منتقل|vaslam|vasl)"
    r"\s+(?:کنید|کنین|کن|بکنید|بکنین|بشم|شم|konid|konin|kon|besham|sham)"
)
_FA_LEAD = (
    r"سلام|درود|ببخشید|لطفا|خواهشا|خواهش\s+می\s?کنم|من|آقا|salam|babakhshid|lotfan"
    # A complaint about the bot: "ربات کمکی نمیکنه", "این ربات متوجه نمیشه".
    r"|(?:(?:این\s+)?(?:ربات|بات)\s+)?(?:کمکی\s+نمی\s?کنه|کمک\s+نمی\s?کنه|به\s+درد\s+نمی\s?خوره"
    r"|متوجه\s+نمی\s?شه|نمی\s?فهمه|جواب\s+نمی\s?ده)"
)
_FA_TAIL = (
    r"لطفا|خواهشا|ممنون|مرسی|ممنون\s+می\s?شم|سریع|همین\s+الان|الان|فوری|نه\s+ربات|نه\s+بات|اگه\s+می\s?شه"
    r"|اگر\s+ممکنه|lotfan|mamnoon|merci|mersi"
)
_PERSON_FA = (
    rf"(?:(?:{_FA_LEAD})\s+)*"
    rf"(?:(?:{_FA_WISH}\s+)*(?:با|ba)\s+{_FA_WHOM}\s+{_FA_TALK}"
    rf"|(?:{_FA_WISH}\s+)*{_FA_TALK}\s+(?:با|ba)\s+{_FA_WHOM}"
    rf"|(?:{_FA_WISH}\s+)*{_FA_PUT_THROUGH}\s+(?:به|be)\s+{_FA_WHOM}"
    rf"|(?:{_FA_WISH}\s+)*(?:(?:منو|mano)\s+)?(?:به|be)\s+{_FA_WHOM}\s+{_FA_PUT_THROUGH}"
    rf"|{_FA_STAFF}\s+(?:می\s?خوام|می\s?خواهم|لازم\s+دارم|mikham)"
    rf"|(?:{_FA_WISH}\s+)+{_FA_STAFF}"
    rf"|(?:گفتگو|گفت\s?و\s?گو|چت)\s+با\s+{_FA_STAFF}"
    rf"|{_FA_STAFF_ALONE})"
    rf"(?:\s+(?:{_FA_TAIL}))*"
)
# Ukrainian (compared as its small talk is, `bot.unicode.ukrainian_typed`: "з'єднайте", "зʼєднайте" and
# "зєднайте" are one, as are "ї" and "і", "й" and "и" without their marks), and the surzhyk many Ukrainians
# write ("можна оператора", "оператора пліз"): a wish (хочу, хотів би, можна, чи можу я, мені потрібен),
# talking (поговорити, поспілкуватися, зв'язатися) with whom (з людиною, з оператором, з менеджером, з
# консультантом, with a living or real one, or "з кимось", "з підтримкою" after a verb), being put through
# (з'єднайте, переключіть, переведіть, покличте, on a Russian keyboard "зъеднайте") to whom, a wish and staff
# ("можна консультанта?", "дайте оператора"), or staff alone ("оператора будь ласка", "жива людина"). How to
# reach them is a question for the help center ("як зв'язатися з оператором?"), and so is a negation ("не
# хочу говорити з людиною"), a person alone ("людина") and who the customer is ("я менеджер"), though a
# complaint about the bot is a lead ("бот не допомагає"). Russian has its own (`_PERSON_RU`).
_UK_LIVING = (
    r"(?:живою|живу|жива|живим|живого|живий|справжньою|справжню|справжня|справжнім|справжнього|справжній"
    r"|реальною|реальну|реальна|реальним|реального|реальний)"
)
_UK_STAFF_ALONE = (
    rf"(?:(?:{_UK_LIVING}\s+)?(?:оператором|оператора|оператор|операторкою|операторку|операторка|менеджером"
    r"|менеджера|менеджер|консультантом|консультанта|консультант|спеціалістом|спеціаліста|спеціаліст"
    r"|фахівцем|фахівця|фахівець)"
    rf"|{_UK_LIVING}\s+(?:людиною|людину|людина))"
)
_UK_WHOM = (
    rf"(?:{_UK_STAFF_ALONE}|(?:{_UK_LIVING}\s+)?(?:людиною|людину|людина|працівником|працівника|співробітником"
    r"|співробітника|представником|представника)|кимось|когось|кимсь|підтримкою|службою\s+підтримки)"
    r"(?:\s+(?:з|із|зі)\s+підтримки)?"
)
_UK_WISH = (
    r"(?:я\s+)?(?:хочу|хотів\s+би|хотіла\s+б|хотів|хотіла|хотілося\s+б|можна|можу|чи\s+можна|чи\s+можу(?:\s+я)?"
    r"|можете|чи\s+можете|(?:мені\s+)?(?:потрібно|треба|потрібен|потрібна)|прошу|дайте|дай|давайте)"
)
_UK_TALK = (
    r"(?:поговорити|говорити|розмовляти|порозмовляти|поспілкуватися|поспілкуватись|спілкуватися"
    r"|звъ?язатися|звъ?язатись|пообщатися|пообщатись|переписуватися|списатися)"
)
_UK_PUT_THROUGH = (
    r"(?:зъ?[єе]днайте|зъ?[єе]днай|зъ?[єе]днати|переключіть|переключи|переключити|переведіть|переведи"
    r"|перевести|покличте|поклич|покликати|позвіть|позовіть|підключіть|підключи|підключити|передайте"
    r"|передай)(?:\s+(?:мене|мені))?"
)
_UK_LEAD = (
    r"привіт|вітаю|добрий\s+день|доброго\s+дня|здрастуйте|будь\s+ласка|ну|слухайте|ок|добре"
    # A complaint about the bot: "бот не допомагає", "ви мене не розумієте".
    r"|(?:(?:бот|ти|ви|це)\s+)?(?:мені\s+|мене\s+)?не\s+(?:допомагає|допомагаєте|допомагаєш|допоміг|допомогли"
    r"|розуміє|розумієш|розумієте|зрозумів)"
)
_UK_TAIL = (
    r"будь\s+ласка|пліз|плз|плиз|please|pls|терміново|зараз|швидше|дякую|(?:а\s+)?не\s+(?:з\s+)?(?:ботом|бот"
    r"|роботом|робот)"
)
_PERSON_UK = (
    rf"(?:(?:{_UK_LEAD})\s+)*"
    rf"(?:(?:{_UK_WISH}\s+)*{_UK_TALK}\s+(?:з|із|зі|зо)\s+{_UK_WHOM}"
    rf"|(?:{_UK_WISH}\s+)*{_UK_PUT_THROUGH}\s+(?:(?:з|із|зі|на|до)\s+)?{_UK_WHOM}"
    rf"|(?:{_UK_WISH}\s+)+(?:{_UK_STAFF_ALONE}|(?:{_UK_LIVING}\s+)?(?:людину|людина))"
    rf"|{_UK_STAFF_ALONE})"
    rf"(?:\s+(?:{_UK_TAIL}))*"
)
# Hebrew (compared as its small talk is, `_hebrew_folded`: with its final letters or without, and without
# vowel points), which writes "to" and "the" on the word ("לנציג", "לבן אדם", "למישהו"): a wish (אני רוצה,
# אפשר, אשמח, צריך), talking (לדבר, לשוחח) with whom (עם נציג, עם בן אדם, עם מישהו, עם שירות לקוחות),
# being put through (תעביר אותי, תחבר אותי, להעביר, לעבור) to whom ("לנציג"), a wish and staff ("אפשר נציג
# אנושי?", "רוצה נציג"), or staff alone ("נציג", "נציג בבקשה", "בן אדם אמיתי", "מענה אנושי" as Israeli
# phone lines offer it). How or when to reach them is a question for the help center ("איך מדברים עם
# נציג?", "מה הטלפון של שירות הלקוחות?"), and so is a negation ("אני לא רוצה לדבר עם נציג"), someone or a
# person alone ("מישהו", "בן אדם") and who the customer is ("אני נציג"), though a complaint about the bot is
# a lead ("הבוט לא עוזר").
_HE_STAFF_ALONE = (
    r"(?:(?:ה)?(?:נציג|נציגה|נציגת)(?:\s+(?:ה)?שירות)?(?:\s+(?:אנושי|אנושית|אמיתי|אמיתית|חי|חיה))?"
    r"|(?:ה)?(?:מוקדן|מוקדנית)(?:\s+(?:אנושי|אנושית|אמיתי|אמיתית))?"
    r"|(?:בן\s+אדם|בנאדם|אדם|מישהו|מישהי)\s+(?:אמיתי|אמיתית|אנושי|חי)|מענה\s+אנושי|שירות\s+אנושי)"
)
_HE_WHOM = (
    rf"(?:{_HE_STAFF_ALONE}|(?:ה)?(?:בן\s+אדם|בנאדם|מישהו|מישהי|מנהל|מנהלת|אחראי|אחראית)"
    r"(?:\s+(?:מהשירות|משירות\s+הלקוחות|מהתמיכה|מהצוות))?|שירות\s+(?:ה)?לקוחות|(?:ה)?תמיכה|(?:ה)?מוקד)"
)
_HE_WISH = (
    r"(?:(?:אני\s+)?(?:רוצה|צריך|צריכה|מבקש|מבקשת|מעדיף|מעדיפה|חייב|חייבת|אשמח|יכול|יכולה)|הייתי\s+רוצה"
    r"|אפשר|אפשרי|ניתן|יש\s+אפשרות|בא\s+לי|תן\s+לי|תני\s+לי|תנו\s+לי|בבקשה|רק|פשוט|לקבל)"
)
_HE_TALK = r"(?:לדבר|לשוחח|להתכתב)"
_HE_PUT_THROUGH = (
    r"(?:(?:תעביר|תעבירי|תעבירו|העבר|העבירו|להעביר|תחבר|תחברי|תחברו|חבר|חברו|לחבר|תפנה|תפנו)(?:\s+אותי)?"
    r"|לעבור|להתחבר)"
)
# "To get to" only a person: "להגיע למוקד" is going to a service center ("צריך להגיע למוקד?").
_HE_REACH = r"להגיע"
_HE_LEAD = (
    r"שלום|היי|הי|בוקר\s+טוב|ערב\s+טוב|סליחה|אחי|נו|די|טוב|אוקיי|אוקי|בסדר|ok"
    # A complaint about the bot: "הבוט לא עוזר", "אתה לא מבין אותי".
    r"|(?:(?:הבוט|בוט|זה|אתה|את)\s+)?(?:ממש\s+)?לא\s+(?:עוזר|עוזרת|עזר|עזרת|מבין|מבינה|הבנת|עונה)"
    r"(?:\s+(?:לי|אותי))?"
)
_HE_TAIL = (
    r"בבקשה|תודה|תודה\s+רבה|עכשיו|דחוף|מהר|כבר|אם\s+אפשר|(?:ו)?לא\s+(?:עם\s+)?(?:ה)?(?:בוט|רובוט)|please"
    r"|pls|פליז|אחי"
)
_PERSON_HE = (
    rf"(?:(?:{_HE_LEAD})\s+)*"
    rf"(?:(?:{_HE_WISH}\s+)*{_HE_TALK}\s+(?:עם\s+|אל\s+|ל)?{_HE_WHOM}"
    rf"|(?:{_HE_WISH}\s+)*{_HE_PUT_THROUGH}\s+(?:אל\s+|ל)?{_HE_WHOM}"
    rf"|(?:{_HE_WISH}\s+)*{_HE_REACH}\s+(?:אל\s+|ל)?(?:{_HE_STAFF_ALONE}|(?:ה)?(?:בן\s+אדם|בנאדם|מישהו|מישהי))"
    rf"|(?:{_HE_WISH}\s+)+(?:{_HE_STAFF_ALONE}|(?:ה)?(?:בן\s+אדם|בנאדם))"
    rf"|{_HE_STAFF_ALONE})"
    rf"(?:\s+(?:{_HE_TAIL}))*"
)
# Czech, and Slovak beside it (compared without accents, as every pattern is: "chci mluvit s clovekem"): a
# wish (chci, chtěl bych, potřebuji, můžu, šlo by, prosím), talking (mluvit, promluvit si, spojit se) with
# whom (s člověkem, s operátorem, s pracovníkem, se zaměstnancem, s někým z podpory, with a living or real
# one), being put through (spojte mě, přepojte mě, předejte mě, zavolejte) to whom (s operátorem, na
# operátora, k operátorovi), a wish and staff ("chci operátora", "potřebuji živého člověka"), staff alone
# ("operátor", "operátora prosím", "živý člověk") or "je tam někdo živý?". How or when to reach them is a
# question for the help center ("jak se spojím s operátorem?", "kdy můžu mluvit s operátorem?"), and so is a
# negation ("nechci mluvit s člověkem"), a person alone ("člověk"), a mobile operator changed or down ("chci
# změnit operátora", "operátor nefunguje") and whom the help center's pages name for an errand, who are not
# the support team: a courier, a branch, a technician, a driver ("chci mluvit s kurýrem", "spojte mě s
# pobočkou"); a complaint about the bot is a lead ("bot mi nepomáhá").
_CS_LIVING = (
    r"(?:živým|živého|živý|živou|živá|skutečným|skutečného|skutečný|skutečnou|skutečná|opravdovým"
    r"|opravdového|opravdový|opravdovou|opravdová|reálným|reálného|reálný|normálním|normálního|normální"
    r"|skutočným|skutočného|skutočný|ozajstným|ozajstného|ozajstný)"
)
_CS_OPERATOR = (
    r"(?:operátorem|operátorovi|operátora|operátor|operátorkou|operátorce|operátorku|operátorka|operátorom)"
)
_CS_STAFF = (
    rf"(?:{_CS_LIVING}\s+)?(?:{_CS_OPERATOR}|konzultantem|konzultantovi|konzultanta|konzultant|konzultantom"
    r"|poradcem|poradci|poradce|poradkyní|poradkyně|poradcom|specialistou|specialistovi|specialisty"
    r"|specialista|špecialistom|špecialistu)"
)
# Alone, only an operator or a living person: "specialista" and "poradce" alone are as likely a question
# about one ("finanční poradce").
_CS_STAFF_ALONE = (
    rf"(?:(?:{_CS_LIVING}\s+)?{_CS_OPERATOR}"
    rf"|{_CS_LIVING}\s+(?:člověkem|člověka|člověk|člověku|osobou|osobu|osoba|človekom|človeka|človek))"
)
# "Z podpory" after whom: "s někým z podpory", "s pracovníkem zákaznické podpory".
_CS_FROM = (
    r"(?:\s+(?:z|ze|zo)\s+(?:vaší\s+|vašej\s+|zákaznické\s+|zákazníckej\s+)?(?:podpory|týmu|firmy|linky"
    r"|zákaznického\s+servisu|zákazníckeho\s+servisu)"
    r"|\s+(?:zákaznické\s+|zákazníckej\s+)?(?:podpory|linky))?"
)
_CS_WHOM = (
    rf"(?:{_CS_STAFF}|{_CS_STAFF_ALONE}|(?:{_CS_LIVING}\s+)?(?:člověkem|člověka|člověku|osobou|osobu|pracovníkem"
    r"|pracovníkovi|pracovníka|pracovnicí|pracovnici|zaměstnancem|zaměstnanci|zaměstnance|vedoucím"
    r"|vedoucího|človekom|človeka|pracovníkom|zamestnancom)"
    r"|někým|někoho|někomu|niekým|niekoho|podporou|podporu|podpoře|zákaznickou\s+podporou"
    rf"|zákaznickou\s+podporu|zákazníckou\s+podporou|zákaznickým\s+servisem|zákazníckym\s+servisom){_CS_FROM}"
)
_CS_WISH = (
    r"(?:já\s+|ja\s+)?(?:chci|chtěl\s+bych|chtěla\s+bych|bych\s+chtěl|bych\s+chtěla|chtěl|chtěla|rád\s+bych"
    r"|ráda\s+bych|potřebuji|potřebuju|potřeboval\s+bych|potřebovala\s+bych|můžu|mohu|mohl\s+bych"
    r"|mohla\s+bych|můžete|mohli\s+byste|šlo\s+by|jde|dá\s+se|je\s+možné|bylo\s+by\s+možné|prosím|prosil"
    r"\s+bych|prosila\s+bych|dejte\s+mi|dejte|dáte\s+mi|chcem|chcel\s+by\s+som|chcela\s+by\s+som"
    r"|potrebujem|môžem|môžete|dá\s+sa|prosím\s+vás)"
    r"(?:\s+(?:si|se|sa|mi|mě|ma|prosím|vás))*"
)
_CS_TALK = (
    r"(?:mluvit|promluvit|hovořit|pohovořit|bavit\s+se|pobavit\s+se|komunikovat|chatovat|psát|spojit\s+se"
    # After "rád bych": "rád bych mluvil s operátorem".
    r"|mluvil|mluvila|promluvil|promluvila|hovořil|hovořila"
    r"|hovoriť|porozprávať\s+sa|rozprávať\s+sa|rozprávať|komunikovať|spojiť\s+sa)(?:\s+si)?"
)
_CS_PUT_THROUGH = (
    r"(?:(?:mě|mne|ma)\s+)?(?:spojte|spoj|spojit|spojíte|přepojte|přepoj|přepojit|přepojíte|předejte|předat"
    r"|přepněte|přepnout|zavolejte|zavolat|pošlete|poslat|prepojte|prepojiť|spojiť|zavolajte)"
    r"(?:\s+(?:mě|mne|mi|ma|prosím|to))*"
)
# A complaint about the bot, before the request ("bot mi nepomáhá", "vůbec mi nerozumíte") or after it, where
# it names the bot or the customer's "you": "operátor nefunguje" after the operator is a mobile network down.
_CS_COMPLAINT_SUBJECT = r"bot|ty|vy|to|tohle|tenhle\s+bot|ten\s+bot"
_CS_COMPLAINT = (
    r"(?:mi\s+|mě\s+)?(?:vůbec\s+|vôbec\s+)?(?:mi\s+|mě\s+)?"
    r"(?:nepomáhá|nepomáháte|nepomáháš|nepomohl|nepomohlo|nepomohla|nerozumí|nerozumíte|nerozumíš|nefunguje"
    r"|nepomáha|nerozumie|nerozumiete)"
)
_CS_LEAD = (
    r"dobrý\s+den|dobry\s+den|dobrý\s+deň|ahoj|čau|zdravím|haló|prosím|prosím\s+vás|hele|no|tak|ok|dobře"
    rf"|dobre|promiňte|prepáčte|(?:(?:{_CS_COMPLAINT_SUBJECT})\s+)?{_CS_COMPLAINT}"
)
_CS_TAIL = (
    r"prosím|prosím\s+vás|prosim\s+vas|hned|ihned|rychle|teď|urgentně|naléhavě|děkuji|díky|ďakujem|please"
    r"|pls|plz|(?:a\s+)?ne\s+(?:s\s+)?(?:botem|bota|bot|robotem|robota|robot|počítačem)|místo\s+bota"
    rf"|(?:{_CS_COMPLAINT_SUBJECT})\s+{_CS_COMPLAINT}"
)
_PERSON_CS = (
    rf"(?:(?:{_CS_LEAD})\s+)*"
    rf"(?:(?:{_CS_WISH}\s+)*{_CS_TALK}\s+(?:s|se|so)\s+{_CS_WHOM}"
    rf"|(?:{_CS_WISH}\s+)*{_CS_PUT_THROUGH}\s+(?:(?:s|se|so|na|k|ke|ku)\s+)?{_CS_WHOM}"
    rf"|(?:{_CS_WISH}\s+)+(?:{_CS_STAFF}|(?:{_CS_LIVING}\s+)?(?:člověka|osobu|človeka)|někoho{_CS_FROM})"
    rf"|{_CS_STAFF_ALONE}"
    # "Je tam někdo živý?" (is anyone alive there?), as Czech customers ask for a person in a chat.
    r"|(?:je\s+(?:tam|tu|tady)\s+)?(?:někdo|nějaký)\s+živý(?:\s+člověk)?(?:\s+(?:tam|tu|tady)(?:\s+je)?)?)"
    rf"(?:\s+(?:{_CS_TAIL}))*"
)
# Swedish (compared without accents, as every pattern is: "jag vill prata med en manniska"): a wish (vill,
# skulle vilja, behöver, kan jag få, går det att), talking (prata, tala, chatta, få kontakt, bli kopplad) with
# whom (en människa, en person, en handläggare, en medarbetare, kundtjänst, someone from support, a real or
# living one), being put through ("koppla mig vidare till en handläggare", "skicka mig vidare till
# kundtjänst"), a wish and staff ("jag vill ha en handläggare", "kan jag få en människa?"), a case officer
# or a human alone ("handläggare", "en riktig människa"), the support team with a "please" ("kundtjänst
# tack") or "finns det någon människa där?". How or when to reach them is a question for the help center
# ("hur pratar jag med en handläggare?", "när kan jag prata med kundtjänst?"), and so is a negation ("jag
# vill inte prata med en människa"), the support team alone ("kundtjänst", which asks for its contact
# details), a person alone, a mobile operator changed ("jag vill byta operatör"), who the customer is ("jag
# är handläggare") and whom an errand is for, who are not the support team ("jag vill prata med budet",
# "koppla mig till banken").
_SV_LIVING = r"(?:riktig|riktiga|verklig|verkliga|levande|mänsklig|äkta|fysisk)"
_SV_STAFF = (
    r"(?:handläggare|handläggaren|handläggarna|kundtjänstmedarbetare|kundtjänstmedarbetaren|medarbetare"
    r"|medarbetaren|kundrådgivare|rådgivare|rådgivaren|agent|agenten|operatör|operatören|personal|personalen)"
)
_SV_TEAM = r"(?:kundtjänst|kundtjänsten|kundservice|kundservicen|support|supporten|kundsupport|kundsupporten)"
_SV_HUMAN = r"(?:människa|människan|person|personen|levande\s+person)"
_SV_FROM = (
    r"(?:\s+(?:från|på|i|hos|inom)\s+(?:er\s+|eran\s+|din\s+)?(?:kundtjänst|kundtjänsten|kundservice"
    r"|supporten|support|teamet|företaget))?"
)
_SV_WHOM = (
    rf"(?:(?:en|ett|någon|er|eran|din)\s+)?(?:{_SV_LIVING}\s+)?(?:{_SV_STAFF}|{_SV_HUMAN}|{_SV_TEAM}|någon)"
    rf"{_SV_FROM}"
)
_SV_WISH = (
    r"(?:(?:jag\s+)?(?:vill|skulle\s+vilja|hade\s+velat|önskar|behöver|måste)"
    r"|(?:kan|får|skulle|kunde)\s+jag|går\s+det\s+att|kan\s+(?:ni|du)|skulle\s+(?:ni|du)\s+kunna|snälla)"
    r"(?:\s+(?:få|kunna|bara|gärna|snälla))*"
)
_SV_TALK = (
    r"(?:prata|tala|snacka|chatta|skriva|komma\s+i\s+kontakt|få\s+kontakt|ha\s+kontakt|bli\s+kopplad"
    r"|bli\s+kopplat|kopplas|bli\s+överkopplad|komma\s+fram)"
)
_SV_PUT_THROUGH = (
    r"(?:koppla|kopplar|koppla\s+över)(?:\s+(?:mig|mej))?(?:\s+vidare)?"
    r"|(?:skicka|slussa|överför|skickar|slussar)\s+(?:mig|mej)(?:\s+vidare)?"
)
# A complaint about the bot, before the request ("boten hjälper inte", "du förstår inte") or after it.
_SV_COMPLAINT = (
    r"(?:du|boten|botten|den\s+här\s+boten|det\s+här|detta|det|chatboten|roboten)\s+"
    r"(?:hjälper|förstår|fungerar|funkar|svarar)\s+(?:mig\s+)?inte(?:\s+alls)?"
    r"|(?:du|boten|det\s+här)\s+är\s+(?:värdelös|värdelöst|oanvändbar|dålig|kass)"
)
_SV_LEAD = (
    r"hej|hejsan|hallå|tjena|god\s+morgon|god\s+dag|god\s+kväll|snälla|ursäkta|okej|ok|nej|men|alltså"
    rf"|{_SV_COMPLAINT}"
)
_SV_TAIL = (
    r"tack|tack\s+på\s+förhand|snälla|nu|direkt|omgående|så\s+fort\s+som\s+möjligt|asap|please|pls|plz"
    r"|i\s+stället|istället|istället\s+för\s+boten|i\s+stället\s+för\s+boten|inte\s+(?:en\s+|med\s+)?"
    rf"(?:bot|boten|robot|roboten|chatbot|chatboten)|{_SV_COMPLAINT}"
)
_PERSON_SV = (
    rf"(?:(?:{_SV_LEAD})\s+)*"
    rf"(?:(?:{_SV_WISH}\s+)*{_SV_TALK}\s+(?:med|till)\s+{_SV_WHOM}"
    rf"|(?:{_SV_WISH}\s+)*(?:{_SV_PUT_THROUGH})\s+(?:till|med)\s+{_SV_WHOM}"
    rf"|(?:{_SV_WISH}\s+)+(?:ha\s+)?(?:(?:en|någon)\s+)?(?:{_SV_LIVING}\s+)?(?:{_SV_STAFF}|{_SV_HUMAN}|{_SV_TEAM})"
    rf"{_SV_FROM}"
    # Alone: a case officer or a human ("handläggare", "en riktig människa"), the support team only with a
    # tail ("kundtjänst tack"), and "finns det någon människa där?".
    rf"|(?:en\s+)?(?:{_SV_LIVING}\s+)?(?:handläggare|kundtjänstmedarbetare|människa)"
    rf"|(?:en\s+)?{_SV_LIVING}\s+(?:person|medarbetare)"
    rf"|(?:{_SV_TEAM}|medarbetare|personal)(?=\s+(?:tack|snälla|please|pls|plz|nu|direkt))"
    rf"|(?:finns\s+det|är\s+det)\s+(?:någon|en)\s+(?:{_SV_LIVING}\s+)?(?:människa|person|medarbetare"
    r"|handläggare)\s+(?:där|här))"
    rf"(?:\s+(?:{_SV_TAIL}))*"
)
# Hungarian (compared without accents, as every pattern is: "ugyintezovel szeretnek beszelni"), in either
# word order: whom "with" ("ügyintézővel", "egy élő emberrel", "munkatárssal", "az ügyfélszolgálattal") and a
# wish to talk (szeretnék beszélni, akarok beszélni, beszélhetnék, lehetne beszélni), a request for whom
# ("ügyintézőt kérek", "élő ügyfélszolgálatot kérek", "kérnék egy ügyintézőt"), being put through ("kapcsoljon
# egy ügyintézőt", "kapcsoljon át egy ügyintézőhöz", "kapcsoljanak össze egy munkatárssal"), a case officer or
# a living person alone ("ügyintéző", "élő ember"), with a complaint about the bot before or after it ("a bot
# nem segít", "nem a bottal"). How or when to reach them is a question for the help center ("hogyan
# beszélhetek egy ügyintézővel?", "mikor lehet ügyintézővel beszélni?"), and so is a negation ("nem akarok
# ügyintézővel beszélni"), the support team alone ("ügyfélszolgálat"), a person alone ("ember"), who the
# customer is ("ügyintéző vagyok"), a mobile operator changed ("operátort szeretnék váltani") and whom an
# errand is for, who are not the support team ("a futárral szeretnék beszélni", "kapcsoljon a bankhoz").
_HU_LIVING = r"(?:élő|valódi|igazi|hús-vér|hús\s+vér|emberi)"
_HU_WHOM_WITH = (
    rf"(?:(?:egy|az|a)\s+)?(?:{_HU_LIVING}\s+)?(?:ügyintézővel|ügyintézőjükkel|emberrel|munkatárssal"
    r"|munkatársukkal|kollégával|kollégájukkal|operátorral|ügyfélszolgálatossal|ügyfélszolgálattal"
    r"|ügyfélszolgálatukkal|tanácsadóval|személlyel|valakivel|személyesen)"
    r"(?:\s+(?:az\s+)?ügyfélszolgálatról)?"
)
_HU_WHOM_ACC = (
    rf"(?:(?:egy|az|a)\s+)?(?:{_HU_LIVING}\s+)?(?:ügyintézőt|embert|munkatársat|kollégát|operátort"
    r"|ügyfélszolgálatot|ügyfélszolgálatost|tanácsadót|személyt|valakit)"
)
_HU_WHOM_TO = (
    rf"(?:(?:egy|az|a)\s+)?(?:{_HU_LIVING}\s+)?(?:ügyintézőhöz|emberhez|munkatárshoz|kollégához|operátorhoz"
    r"|ügyfélszolgálathoz|ügyfélszolgálatoshoz|tanácsadóhoz|valakihez)"
)
_HU_WISH = (
    r"(?:szeretnék|szeretnénk|akarok|akarnék|akarunk|kellene|kéne|kell|lehetne|lehet|tudnék|tudok"
    r"|muszáj|most|inkább|már|azonnal|valahogy|kérem|kérném|kérnék|legyen\s+szíves|légyszi|légy\s+szíves)"
)
_HU_TALK = (
    r"(?:beszélni|beszélnék|beszélhetnék|beszélhetek|beszélgetni|beszélgetnék|csevegni|chatelni|chatelnék"
    r"|írni|írnék|kapcsolatba\s+lépni|kapcsolatba\s+kerülni|kommunikálni|érintkezni)"
)
_HU_PUT_THROUGH = (
    r"(?:kapcsoljon|kapcsoljanak|kapcsolna|kapcsolnának|kapcsolj|kapcsoljatok|kapcsoljátok|kapcsolhatna"
    r"|kapcsolnátok|irányítson|irányítsanak|adjon|adjanak|adj|adjatok|tegyen|tegyenek)"
    r"(?:\s+(?:át|össze|tovább|be|engem|kérem|légyszi))*"
)
# A complaint about the bot, before the request ("a bot nem segít", "nem értesz") or after it ("nem a
# bottal").
_HU_COMPLAINT = (
    r"(?:(?:a|ez\s+a|ez)\s+)?(?:bot|robot|gép|chatbot)?\s*(?:egyáltalán\s+)?nem\s+(?:segít|segítesz|segítenek"
    r"|ért|értesz|érti|értitek|működik|használ)(?:\s+(?:nekem|semmit))?"
)
_HU_LEAD = (
    r"jó\s+napot(?:\s+kívánok)?|szia|sziasztok|helló|hello|üdvözlöm|kérem|légyszi|legyen\s+szíves|ok|oké"
    rf"|akkor|de|inkább|{_HU_COMPLAINT}"
)
_HU_TAIL = (
    r"kérem|kérném|légyszi|legyen\s+szíves|köszönöm|köszi|most|azonnal|sürgősen|gyorsan|mielőbb|please|pls"
    r"|(?:és\s+)?nem\s+(?:a\s+)?(?:bottal|robottal|géppel|chatbottal)|a\s+bot\s+helyett|bot\s+helyett"
    rf"|{_HU_COMPLAINT}"
)
_PERSON_HU = (
    rf"(?:(?:{_HU_LEAD})\s+)*"
    rf"(?:(?:(?:{_HU_WISH})\s+)*{_HU_WHOM_WITH}\s+(?:(?:{_HU_WISH})\s+)*{_HU_TALK}(?:\s+(?:{_HU_WISH}))*"
    rf"|(?:(?:{_HU_WISH})\s+)*{_HU_TALK}\s+(?:(?:{_HU_WISH})\s+)*{_HU_WHOM_WITH}"
    rf"|{_HU_WHOM_ACC}\s+(?:kérek|kérnék|kérnénk|kérünk|kérném|szeretnék|akarok)"
    rf"|(?:kérek|kérnék|kérnénk|kérünk|szeretnék|akarok)\s+{_HU_WHOM_ACC}"
    rf"|(?:(?:{_HU_WISH})\s+)*{_HU_PUT_THROUGH}\s+(?:{_HU_WHOM_ACC}|{_HU_WHOM_TO}|{_HU_WHOM_WITH})"
    # Alone: a case officer or a living person ("ügyintéző", "élő ember", "élő ügyfélszolgálat").
    rf"|(?:egy\s+)?(?:{_HU_LIVING}\s+)?ügyintéző|(?:egy\s+)?{_HU_LIVING}\s+(?:ember|munkatárs|ügyfélszolgálat"
    r"|személy))"
    rf"(?:\s+(?:{_HU_TAIL}))*"
)
# Polish (compared without accents, as every pattern is: "chce rozmawiac z konsultantem", "polacz mnie z
# czlowiekiem"): a wish (chcę, chciałbym, chciałabym, potrzebuję, mogę, czy można, proszę o), talking
# (rozmawiać, porozmawiać, pogadać, skontaktować się, połączyć się) with whom (z konsultantem, z człowiekiem,
# z pracownikiem, z kimś z obsługi klienta, a living or real one), being put through ("połącz mnie z
# konsultantem", "przełączcie mnie na konsultanta"), a wish and staff ("poproszę konsultanta", "chcę
# konsultanta", "potrzebuję żywego człowieka"), a consultant or a living person alone ("konsultant proszę",
# "żywy człowiek") or "jest tam ktoś żywy?", with a complaint about the bot before or after it ("bot nie
# pomaga", "a nie z botem"). How or when to reach them is a question for the help center ("jak porozmawiać z
# konsultantem?", "kiedy mogę porozmawiać z konsultantem?"), and so is a negation ("nie chcę rozmawiać z
# konsultantem"), a person alone ("człowiek"), who the customer is ("jestem konsultantem"), a mobile operator
# changed ("chcę zmienić operatora") and whom an errand is for, who are not the support team ("chcę rozmawiać
# z kurierem", "połącz mnie z oddziałem").
_PL_LIVING = (
    r"(?:żywym|żywego|żywy|żywą|żywa|prawdziwym|prawdziwego|prawdziwy|prawdziwą|prawdziwa|realnym|realnego)"
)
_PL_STAFF = (
    r"(?:konsultantem|konsultantką|konsultanta|konsultantkę|konsultantce|konsultantowi|konsultant|konsultantka"
    r"|doradcą|doradcę|doradca|agentem|agenta|pracownikiem|pracownika|pracowniczką|operatorem|operatora)"
)
_PL_HUMAN = r"(?:człowiekiem|człowieka|człowiek|osobą|osobę|kimś|kogoś)"
_PL_FROM = (
    r"(?:\s+(?:z\s+)?(?:waszej\s+|wasze\s+)?(?:obsługi(?:\s+klienta)?|biura\s+obsługi(?:\s+klienta)?"
    r"|działu\s+obsługi(?:\s+klienta)?|infolinii|zespołu|supportu|wsparcia))?"
)
_PL_WHOM = (
    rf"(?:(?:jakimś|jakiegoś|waszym|waszego)\s+)?(?:{_PL_LIVING}\s+)?(?:{_PL_STAFF}|{_PL_HUMAN}){_PL_FROM}"
    r"|obsługą(?:\s+klienta)?|biurem\s+obsługi(?:\s+klienta)?|działem\s+obsługi(?:\s+klienta)?|infolinią"
)
_PL_WISH = (
    r"(?:ja\s+)?(?:chcę|chce|chcemy|chciałbym|chciałabym|chciałbym|chciałem|chciałam|muszę|potrzebuję"
    r"|potrzebuje|mogę|moge|możemy|czy\s+mogę|czy\s+moge|czy\s+można|można|czy\s+da\s+się|da\s+się"
    r"|proszę|poproszę|prosiłbym|prosiłabym|wolę|wolałbym|wolałabym|czy|jest\s+możliwość|jest\s+szansa)"
    r"(?:\s+(?:się|sie|teraz|jednak|po\s+prostu|tylko))*"
)
_PL_TALK = (
    r"(?:rozmawiać|porozmawiać|pogadać|gadać|pisać|popisać|skontaktować\s+się|kontaktować\s+się"
    r"|połączyć\s+się|czatować|mówić|rozmowę|rozmowy|kontakt|połączenie)"
)
_PL_PUT_THROUGH = (
    r"(?:połącz|połączcie|połączy|połączyć|przełącz|przełączcie|przełączyć|przekieruj|przekierujcie"
    r"|przekierować|przekaż|przekażcie|przekazać|daj|dajcie|dać)(?:\s+(?:mnie|mi|mię|proszę|szybko))*"
)
# A complaint about the bot, before the request ("bot nie pomaga", "nic nie rozumiesz") or after it.
_PL_COMPLAINT = (
    r"(?:(?:ten\s+)?(?:bot|czatbot|chatbot|robot|to)\s+)?(?:mi\s+)?(?:w\s+ogóle\s+|nic\s+)?nie\s+"
    r"(?:pomaga|pomagasz|pomógł|pomogło|rozumie|rozumiesz|działa|ogarnia|ogarniasz)(?:\s+mi)?"
)
_PL_LEAD = (
    r"dzień\s+dobry|witam|cześć|hej|halo|proszę|ok|okej|dobra|no|to|a|przepraszam|słuchaj|słuchajcie"
    rf"|{_PL_COMPLAINT}"
)
_PL_TAIL = (
    r"proszę|poproszę|teraz|natychmiast|pilnie|szybko|od\s+razu|dziękuję|dzięki|please|pls|plz"
    r"|(?:a\s+)?nie\s+(?:z\s+)?(?:botem|bota|bot|robotem|czatbotem|chatbotem|maszyną)|zamiast\s+bota"
    rf"|{_PL_COMPLAINT}"
)
_PERSON_PL = (
    rf"(?:(?:{_PL_LEAD})\s+)*"
    rf"(?:(?:{_PL_WISH}\s+)*(?:o\s+)?{_PL_TALK}\s+(?:z|ze)\s+(?:{_PL_WHOM})"
    rf"|(?:{_PL_WISH}\s+)*{_PL_PUT_THROUGH}\s+(?:(?:z|ze|na|do)\s+)?(?:{_PL_WHOM})"
    rf"|(?:{_PL_WISH}\s+)+(?:o\s+)?(?:pomoc\s+|pomocy\s+)?(?:(?:jakiegoś|waszego)\s+)?(?:{_PL_LIVING}\s+)?(?:{_PL_STAFF}"
    rf"|człowieka|osobę|kogoś){_PL_FROM}"
    # Alone: a consultant or a living person ("konsultant", "żywy człowiek", "z konsultantem proszę").
    rf"|(?:(?:z|ze)\s+)?(?:{_PL_LIVING}\s+)?(?:konsultantem|konsultant|konsultanta|konsultantka)"
    rf"|(?:(?:z|ze)\s+)?{_PL_LIVING}\s+(?:człowiekiem|człowiek|człowieka|osobą|osoba|konsultantem)"
    # "Jest tam ktoś żywy?" (is anyone alive there?), as Polish customers ask for a person in a chat.
    r"|(?:czy\s+)?(?:jest\s+(?:tam|tu|tutaj)\s+)?ktoś\s+żywy(?:\s+(?:tam|tu|tutaj))?)"
    rf"(?:\s+(?:{_PL_TAIL}))*"
)
_PERSON_DE = (
    r"(?:(?:hallo|hi|guten|tag|bitte|ich|mochte|will|wurde|wurde gern|gerne|gern|kann|konnen|konnten|sie"
    r"|ihr|mich|mir|das|hilft|nicht|nein|jetzt|lieber|doch|einfach|verbinden|verbinde|verbindet)\s+)*"
    r"(?:mit\s+|zu\s+)?"
    r"(?:einem\s+|einer\s+|einen\s+|echten\s+|echtem\s+|dem\s+|der\s+)?(?:echten\s+|richtigen\s+)?"
    r"(?:mensch|menschen|mitarbeiter|mitarbeiterin|berater|beraterin|kundenservice|kundendienst|support"
    r"|person|jemandem|agent|operator)"
    r"(?:\s+(?:sprechen|reden|chatten|verbinden|verbunden werden|bitte|danke|jetzt|kein bot|keinen bot))*"
)
_PERSON_RU = (
    r"(?:(?:здравствуите|привет|пожалуиста|можно|могу|хочу|хотел|хотела|бы|мне|нужно|нужен|нужна|даите"
    r"|позовите|позови|соедините|соедини|переключите|переключи|свяжите|свяжи|меня|я|не|помогает|это)\s+)*"
    r"(?:(?:поговорить|говорить|связаться|пообщаться|общаться|соединить|переключить)\s+)?(?:с\s+|на\s+)?"
    r"(?:живым\s+|живого\s+|живои\s+|реальным\s+|настоящим\s+)?"
    r"(?:человеком|человека|человек|оператором|оператора|оператор|специалистом|специалиста|менеджером"
    r"|менеджера|сотрудником|сотрудника|консультантом|консультанта)"
    r"(?:\s+(?:пожалуиста|срочно|сеичас|спасибо|а не ботом|не бот))*"
)
# A Chinese trial's "有没有真人" and "我要投诉" were not handed to a person. "有没有真人" asks for one, unlike
# "Is there a human?": it is how Chinese customers ask to be put through ("有人工吗"). "我要投诉" too: in
# Chinese customer service a complaint is taken by a person (人工客服, a complaints desk), which no article
# of the help center can do. Asking how or where to complain ("怎么投诉", "投诉电话是多少") stays a question,
# as "人工客服几点上班？" does: only the whole message is matched.
_PERSON_ZH = (
    r"(?:我|我要|我想|想|请|请帮我|帮我|给我|麻烦|能不能|可以|你好|您好)*"
    r"(?:(?:转|转接|找|接|联系|和|跟|要|有没有|有)?(?:人工客服|真人客服|人工服务|人工|真人|客服|活人)"
    r"(?:说话|聊|聊聊|谈谈|沟通|服务)?"
    r"|投诉(?:你们|一下)?)"
    r"(?:谢谢|吧|啊|呀|吗)?"
)
# The same demand closing a message: a Taiwanese trial's "你們服務很爛欸 我要投訴" (your service is awful, I
# want to complain) quoted the agents' hours. What comes before it says why; the demand is what the customer
# wants done. "我要投诉怎么办" and "我不要投诉" end otherwise.
_COMPLAINT_ZH = re.compile(r"我(?:要|想|想要|必须|一定要|要求)投诉(?:你们|一下)?(?:吧|啊|啦|了)?$")
# Korean: a Korean trial's "상담사 연결해주세요" quoted the help center's section on its "상담사 연결"
# button, and "상담원연결", "상담원 연결해줘", "직원 연결해 주세요" and "사람이랑 얘기하고 싶다고요"
# were refused: only a few phrases were known. Whom (상담사, 상담원, 직원, 사람, 매니저) with its particle,
# then connecting (연결), switching (바꿔) or talking (얘기, 대화, 통화) with a request's or a wish's
# ending, polite or plain, spaced or not. Only the whole message: "상담사 연결은 몇 시까지 돼요?" asks when
# agents answer.
_KO_REQUEST = (
    r"(?:주세요|주세여|주세용|줘요|줘|주십시오|주실래요|주시겠어요|주실\s*수\s*있나요|주실\s*수\s*있을까요"
    r"|줄래요|줄래|주라|달라고요|달라구요|달라니까요)"
)
_KO_WISH = (
    r"(?:(?:하|받)고\s*싶(?:어요|어여|어|습니다|다고요|다구요|다니까요|은데요|은데|다|네요)|할래요|할래|할게요"
    rf"|하게\s*해\s*{_KO_REQUEST}|할\s*수\s*(?:있어요|있나요|있을까요|있습니까)"
    r"|(?:하는\s*거\s*)?가능(?:한가요|해요|할까요|합니까|하나요)?|되나요|돼요|될까요|원해요|원합니다)"
)
_PERSON_KO = (
    r"(?:(?:안녕하세요|저기요|저기|저|그냥|제발|빨리|지금|좀|아니|아니요|됐고|됐어요|챗봇\s*말고|봇\s*말고"
    r"|로봇\s*말고|기계\s*말고|도움이\s*안\s*돼요|도움이\s*안\s*되네요|도움\s*안\s*돼요|답답해요|답답하네요"
    r"|진짜|그럼|그러면)\s*)*"
    r"(?:(?:진짜\s*|실제\s*)?(?:상담사|상담원|상담\s*직원|직원|사람|매니저|담당자)(?:님|분)?"
    r"(?:이랑|랑|하고|과|와|한테|에게|께|으로|로|을|를|이|가)?\s*(?:좀\s*)?"
    rf"(?:연결\s*(?:좀\s*)?(?:(?:(?:해|시켜)\s*)?{_KO_REQUEST}|{_KO_WISH}|부탁(?:드려요|드립니다|해요|합니다)"
    r"|해요|요|이요)?"
    rf"|바꿔\s*{_KO_REQUEST}?"
    rf"|(?:얘기|이야기|대화|통화|말|상담|채팅)\s*(?:좀\s*)?{_KO_WISH})"
    # Whom alone is a request only for the support team's own agents: "상담원", not "사람".
    r"|(?:상담사|상담원)(?:님|분)?(?:요|이요)?)"
    r"(?:\s*(?:부탁드려요|부탁드립니다|부탁해요|부탁합니다|제발|빨리|지금|좀|감사합니다|[ㅠㅜ]+))*"
)
# Japanese as phrases, less a polite tail (`_PERSON_TAIL`): a Japanese trial's
# "人と話せますか", "担当者につないでください", "スタッフと話したい" and "有人対応" were refused.
_PERSON_TEXT = (
    "人工|转人工|オペレーター|人と話したい|担当者|オペレーターと話したい|担当者と話したい|人間と話したい"  # noqa: E501 - CJK characters count double
    "|スタッフと話したい|人と話せますか|人間と話せますか|オペレーターと話せますか|担当者と話せますか"  # noqa: E501 - CJK characters count double
    "|人につないで|担当者につないで|オペレーターにつないで|担当者に繋いで|オペレーターに繋いで"  # noqa: E501 - CJK characters count double
    "|有人対応|有人チャット"
)


_PERSON_PATTERNS = tuple(
    re.compile(without_accents(_hebrew_folded(ukrainian_typed(_greek_folded(_arabic_folded(p))))))
    for p in (
        _PERSON_EN,
        _PERSON_ES,
        _PERSON_PT,
        _PERSON_IT,
        _PERSON_FR,
        _PERSON_DE,
        _PERSON_NL,
        _PERSON_ID,
        _PERSON_TR,
        _PERSON_VI,
        _PERSON_TH,
        _PERSON_HI,
        _PERSON_AR,
        _PERSON_EL,
        _PERSON_FA,
        _PERSON_UK,
        _PERSON_HE,
        _PERSON_CS,
        _PERSON_SV,
        _PERSON_HU,
        _PERSON_PL,
        _PERSON_RU,
        _PERSON_ZH,
        _PERSON_KO,
    )
)


def _as_compared(text: str) -> str:
    """`text` as a message is compared: in Simplified Chinese characters (Japanese 話 too: 话; 願: 愿) and
    without accents (which takes the voicing marks off kana: で is て)."""
    return without_accents(to_simplified(text, words=False))


_PERSON_PHRASES = frozenset(_as_compared(phrase) for phrase in _PERSON_TEXT.split("|"))


def _either(*words: str) -> str:
    return "|".join(re.escape(_as_compared(word)) for word in words)


# What may open or close a phrase without changing it: "请", "すみません", "お願いします", "ください", and
# "です" after a wish ("オペレーターと話したいです"). Compared as the message is: written as is, the tail
# "お願いします" was never found in "オペレーターお願いします", read as "…お愿いします".
_PERSON_LEAD = re.compile(rf"^(?:{_either('请', 'すみません', 'すいません')})\s*")
_PERSON_TAIL = re.compile(
    rf"(?:\s*(?:{_either('请', '谢谢', 'お願いします', 'お願いいたします', 'ください')})"
    rf"|(?<={_either('たい')})(?:{_either('です', 'のですが', 'んですが')}))+$"
)


def asks_for_person(text: str) -> bool:
    """Whether the whole message asks for a person from the support team (see `_PERSON_EN`), or ends by
    demanding to complain in Chinese (`_COMPLAINT_ZH`)."""
    if len(text) > MAX_CHARS or not has_words(text):
        return False
    text = to_simplified(text, words=False)
    normalized = without_accents(
        " ".join(_TOKEN.findall(_PUNCTUATION.sub(" ", _fold(text).replace("’", "'"))))
    )
    if any(pattern.fullmatch(normalized) for pattern in _PERSON_PATTERNS) or _COMPLAINT_ZH.search(normalized):
        return True
    return _PERSON_TAIL.sub("", _PERSON_LEAD.sub("", normalized)).strip() in _PERSON_PHRASES
