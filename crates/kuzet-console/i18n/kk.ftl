# Kuzet консолі — қазақша.
demo-banner = Демонстрация: мұндағы ұйымдар, адамдар және трафик ойдан шығарылған.
skip-to-content = Мазмұнға өту
nav-label = Бөлімдер
nav-overview = Шолу
nav-alerts = Ескертулер
nav-incidents = Инциденттер
nav-account = Тіркелгі
logout = Шығу
error-title = Мүмкін емес
error-back = Шолуға оралу
error-no-page = Мұндай бет жоқ.
login-title = Кіру
login-user = Пайдаланушы
login-password = Құпиясөз
login-code-hint = Құпиясөз дұрыс. Аутентификатор қолданбасындағы алты таңбалы кодты енгізіңіз.
login-code = Бір реттік код
login-code-optional = Бір реттік код (қосылған болса)
login-submit = Кіру
login-wrong = Пайдаланушы, құпиясөз немесе код қате.
login-wait = Сәтсіз әрекеттер тым көп: біраз күтіп, қайталаңыз.
login-disabled = Тіркелгі өшірілген.
password-title = Құпиясөзді өзгерту
password-forced = Жалғастырмас бұрын өз құпиясөзіңізді орнатыңыз.
password-current = Ағымдағы құпиясөз
password-new = Жаңа құпиясөз
password-repeat = Жаңа құпиясөз қайтадан
password-submit = Құпиясөзді өзгерту
password-mismatch = Жаңа құпиясөздер сәйкес емес.
mfa-title = Екінші фактор
mfa-enter-secret = Бұл кілтті аутентификатор қолданбасына енгізіп, ол көрсеткен кодты теріңіз.
mfa-confirm = Қосу
mfa-why = Сіздің рөліңіз әр кірген сайын бір реттік кодты талап етеді. Қолданбаға кілт алу үшін бастаңыз.
mfa-begin = Бастау
overview-title = Шолу
service-title = Қызмет
service-rate = Секундына оқиғалар
service-accepted = Қабылданған оқиғалар
service-sealed = Мөрленген оқиғалар
service-queue = Мөрлеуді күтуде
service-backup-errors = Сақтық көшірме қателері
overview-no-tenants = Сізге ешбір ұйымның инциденттері қолжетімді емес.
alerts-waiting = { $count ->
    [one] { $count } ескерту талдауды күтуде
   *[other] { $count } ескерту талдауды күтуде
}
alerts-acknowledged = { $count ->
    [one] { $count } жұмысқа алынды
   *[other] { $count } жұмысқа алынды
}
incidents-open = { $count ->
    [one] { $count } ашық инцидент
   *[other] { $count } ашық инцидент
}
level = Деңгей
clocks-running = { $count ->
    [one] { $count } нормативтік мерзім жүріп жатыр
   *[other] { $count } нормативтік мерзім жүріп жатыр
}
clock-obligation = Міндет
clock-due = Мерзімі
clock-left = Қалды
clock-overdue = мерзімі өтті
clock-done = орындалды
clock-pending = жүріп жатыр
clock-due-soon = мерзімі жақын
tenants-not-shown = { $count ->
    [one] тағы { $count } ұйым көрсетілмеген
   *[other] тағы { $count } ұйым көрсетілмеген
}
alerts-title = Ескертулер кезегі
tenant = Ұйым
status = Күйі
alert-status-all = барлығы
filter = Көрсету
alerts-done = Өзгертілген ескертулер: { $count }
alerts-none = Ескертулер жоқ.
select-all = Барлығын таңдау
alert-rule = Ереже
alert-level = Маңыздылығы
alert-hits = Іске қосылу
alert-first = Алғашқы
alert-last = Соңғы
alerts-bulk = Таңдалған ескертулермен
action = Әрекет
alert-do-acknowledge = Жұмысқа алу
alert-do-false-positive = Жалған іске қосылу
alert-do-promote = Инцидент ашу
reason = Себебі
incident-title = Атауы
incident-category = Санаты
fact-functional-impact = Функцияларға әсері
fact-information-impact = Ақпаратқа әсері
fact-recoverability = Қалпына келтірілуі
fact-scope = Ауқымы
fact-facility-class = Объект сыныбы
incident-facilities = Зардап шеккен объектілер
facility-class = сыныбы
facility-critical = аса маңызды объект
fact-stage = Кезеңі
apply = Қолдану
next-page = Келесі бет
incidents-title = Инциденттер
incidents-none = Инциденттер жоқ.
incident-detected = Анықталды
incident-tasks = Жоспар
tasks-open = { $count ->
    [one] { $count } тапсырма ашық
   *[other] { $count } тапсырма ашық
}
level-assessed = бағалау бойынша
incident-alerts = Ескертулер
incident-clocks = Нормативтік мерзімдер
incident-no-clocks = Мерзімдер әлі басталған жоқ: олар растаудан басталады.
incident-plan = Ден қою жоспары
incident-no-plan = Жоспар растау кезінде жасалады.
task-done = Орындалды
incident-timeline = Хронология
severity-critical = сыни
severity-high = жоғары
severity-medium = орташа
severity-low = төмен
severity-informational = ақпараттық
alert-status-new = жаңа
alert-status-acknowledged = жұмыста
alert-status-false-positive = жалған
alert-status-escalated = инцидентке берілді
obligation-owner-notification = Меншік иесін хабардар ету
obligation-nccis-report = АҚҰҮО-ға хабарлау
obligation-personal-data-notice = Дербес деректер жөніндегі уәкілетті органды хабардар ету
obligation-contact-change = Байланыстардың өзгергенін АҚҰҮО-ға хабарлау
obligation-quarterly-report = Инциденттер туралы тоқсандық есеп
obligation-quarterly-contact-confirmation = Тоқсандағы байланыстарды растау
obligation-response-process-review = Ден қою процесін қайта қарау
category-intrusion-attempts-password-guessing = Құпиясөздерді іріктеу немесе ұрлау
category-intrusion-unauthorized-access = Рұқсатсыз қол жеткізу
category-malicious-code = Зиянды бағдарлама
category-availability-dos = DoS/DDoS шабуылы
category-information-gathering-scanning = Сканерлеу
category-intrusion-protection-bypass = Қорғау құралдарын бұзу
category-information-content-security-leak = Ақпараттың таралуы
category-abusive-content-spam = Спам
category-fraud = Алаяқтық
category-other = Басқа
incident-status-detected = анықталды
incident-status-confirmed = расталды
incident-status-false-positive = жалған
incident-status-contained = оқшауланды
incident-status-eradicated = жойылды
incident-status-recovered = қалпына келтірілді
incident-status-closed = жабылды
incident-move-confirmed = Растау
incident-move-false-positive = Жалған
incident-move-contained = Оқшауланды
incident-move-eradicated = Жойылды
incident-move-recovered = Қалпына келтірілді
incident-move-closed = Жабу
nav-search = Іздеу
search-title = Оқиғаларды іздеу
search-query = Сұрау
search-range = Уақыт
range-15m = соңғы 15 минут
range-1h = соңғы сағат
range-24h = соңғы 24 сағат
range-7d = соңғы 7 күн
range-30d = соңғы 30 күн
range-custom = бастап … дейін (Қазақстан уақыты)
search-from = Бастап
search-to = Дейін
search-submit = Іздеу
search-help = өріс:мән, "тіркестер", үлгілер*, ауқымдар [1 TO 5], 10.0.0.0/8, AND, OR, NOT, (топтар); бос болса — бәрі.
search-bad-time = Уақыт аралығын оқу мүмкін емес: { $what }.
search-found = { $count ->
    [one] { $count } оқиға
   *[other] { $count } оқиға
}
search-at-most = (ең көбі)
search-by-index = индекс бойынша
search-by-scan = мұрағат қаралды
search-histogram = Уақыт бойынша оқиғалар
search-interval = Бір баған: { $seconds } с
search-fields = Өрістер
search-sample = { $count ->
    [one] { $count } оқиға бойынша
   *[other] { $count } оқиға бойынша
}
search-nothing = Сәйкес оқиғалар жоқ.
event-time = Уақыты
event-message = Хабар
event-title = Оқиға
event-ingested = Алынды
event-source = Көзі
event-original = Бастапқы жазба
event-fields = Өрістер
event-proof = Мөрлеу дәлелі
event-proof-hint = Оқиғаның мөрленген мұрағаттағы орны: блоктағы жазба, ұйым журналындағы блок және оны қамтитын қол қойылған бақылау нүктесі. Желісіз тексеріледі.
proof-segment = Сегмент
proof-block = Блок
proof-record = Жазба
proof-tree-size = Бақылау нүктесі қамтитын блоктар
proof-download = Дәлелді жүктеу (JSON)
