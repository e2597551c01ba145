# Консоль Kuzet — русский.
demo-banner = Демонстрация: организации, люди и трафик здесь вымышлены.
skip-to-content = К содержимому
nav-label = Разделы
nav-overview = Обзор
nav-alerts = Оповещения
nav-incidents = Инциденты
nav-account = Учётная запись
logout = Выйти
error-title = Невозможно
error-back = Вернуться к обзору
error-no-page = Такой страницы нет.
login-title = Вход
login-user = Пользователь
login-password = Пароль
login-code-hint = Пароль верен. Введите шестизначный код из приложения-аутентификатора.
login-code = Одноразовый код
login-code-optional = Одноразовый код (если подключён)
login-submit = Войти
login-wrong = Неверный пользователь, пароль или код.
login-wait = Слишком много неудачных попыток: подождите немного и попробуйте снова.
login-disabled = Учётная запись отключена.
password-title = Смена пароля
password-forced = Прежде чем продолжить, задайте собственный пароль.
password-current = Текущий пароль
password-new = Новый пароль
password-repeat = Новый пароль ещё раз
password-submit = Сменить пароль
password-mismatch = Новые пароли не совпадают.
mfa-title = Второй фактор
mfa-enter-secret = Введите этот ключ в приложение-аутентификатор, затем наберите показанный им код.
mfa-confirm = Подключить
mfa-why = Ваша роль требует одноразового кода при каждом входе. Начните, чтобы получить ключ для приложения.
mfa-begin = Начать
overview-title = Обзор
service-title = Сервис
service-rate = Событий в секунду
service-accepted = Принято событий
service-sealed = Запечатано событий
service-queue = Ждут запечатывания
service-backup-errors = Ошибки резервного копирования
overview-no-tenants = Инциденты каких-либо организаций вам не доступны.
alerts-waiting = { $count ->
    [one] { $count } оповещение ждёт разбора
    [few] { $count } оповещения ждут разбора
   *[many] { $count } оповещений ждут разбора
}
alerts-acknowledged = { $count ->
    [one] { $count } принято в работу
    [few] { $count } приняты в работу
   *[many] { $count } принято в работу
}
incidents-open = { $count ->
    [one] { $count } открытый инцидент
    [few] { $count } открытых инцидента
   *[many] { $count } открытых инцидентов
}
level = Уровень
clocks-running = { $count ->
    [one] { $count } регламентный срок идёт
    [few] { $count } регламентных срока идут
   *[many] { $count } регламентных сроков идут
}
clock-obligation = Обязанность
clock-due = Срок
clock-left = Осталось
clock-overdue = просрочено
clock-done = выполнено
clock-pending = идёт
clock-due-soon = скоро срок
tenants-not-shown = { $count ->
    [one] ещё { $count } организация не показана
    [few] ещё { $count } организации не показаны
   *[many] ещё { $count } организаций не показаны
}
alerts-title = Очередь оповещений
tenant = Организация
status = Статус
alert-status-all = все
filter = Показать
alerts-done = Изменено оповещений: { $count }
alerts-none = Оповещений нет.
select-all = Выбрать все
alert-rule = Правило
alert-level = Важность
alert-hits = Срабатывания
alert-first = Первое
alert-last = Последнее
alerts-bulk = С выбранными оповещениями
action = Действие
alert-do-acknowledge = Принять в работу
alert-do-false-positive = Ложное срабатывание
alert-do-promote = Открыть инцидент
reason = Причина
incident-title = Название
incident-category = Категория
fact-functional-impact = Влияние на функции
fact-information-impact = Влияние на информацию
fact-recoverability = Восстановимость
fact-scope = Масштаб
fact-facility-class = Класс объекта
incident-facilities = Затронутые объекты
facility-class = класс
facility-critical = критически важный объект
fact-stage = Стадия
apply = Применить
next-page = Следующая страница
incidents-title = Инциденты
incidents-none = Инцидентов нет.
incident-detected = Обнаружен
incident-tasks = План
tasks-open = { $count ->
    [one] { $count } задача открыта
    [few] { $count } задачи открыты
   *[many] { $count } задач открыто
}
level-assessed = по оценке
incident-alerts = Оповещения
incident-clocks = Регламентные сроки
incident-no-clocks = Сроки ещё не идут: они начинаются с подтверждения.
incident-plan = План реагирования
incident-no-plan = План создаётся при подтверждении.
task-done = Выполнено
incident-timeline = Хронология
severity-critical = критическая
severity-high = высокая
severity-medium = средняя
severity-low = низкая
severity-informational = информационная
alert-status-new = новое
alert-status-acknowledged = в работе
alert-status-false-positive = ложное
alert-status-escalated = передано в инцидент
obligation-owner-notification = Уведомить собственника
obligation-nccis-report = Сообщить в НКЦИБ
obligation-personal-data-notice = Уведомить уполномоченный орган по персональным данным
obligation-contact-change = Сообщить НКЦИБ об изменении контактов
obligation-quarterly-report = Квартальный отчёт об инцидентах
obligation-quarterly-contact-confirmation = Подтвердить контакты за квартал
obligation-response-process-review = Пересмотреть процесс реагирования
category-intrusion-attempts-password-guessing = Подбор или кража паролей
category-intrusion-unauthorized-access = Несанкционированный доступ
category-malicious-code = Вредоносное ПО
category-availability-dos = DoS/DDoS-атака
category-information-gathering-scanning = Сканирование
category-intrusion-protection-bypass = Взлом средств защиты
category-information-content-security-leak = Утечка информации
category-abusive-content-spam = Спам
category-fraud = Мошенничество
category-other = Прочее
incident-status-detected = обнаружен
incident-status-confirmed = подтверждён
incident-status-false-positive = ложный
incident-status-contained = локализован
incident-status-eradicated = устранён
incident-status-recovered = восстановлен
incident-status-closed = закрыт
incident-move-confirmed = Подтвердить
incident-move-false-positive = Ложный
incident-move-contained = Локализован
incident-move-eradicated = Устранён
incident-move-recovered = Восстановлен
incident-move-closed = Закрыть
nav-search = Поиск
search-title = Поиск событий
search-query = Запрос
search-range = Время
range-15m = последние 15 минут
range-1h = последний час
range-24h = последние 24 часа
range-7d = последние 7 дней
range-30d = последние 30 дней
range-custom = с … по (время Казахстана)
search-from = С
search-to = По
search-submit = Найти
search-help = поле:значение, "фразы", шаблоны*, диапазоны [1 TO 5], 10.0.0.0/8, AND, OR, NOT, (группы); пусто — всё.
search-bad-time = Не удаётся прочитать интервал времени: { $what }.
search-found = { $count ->
    [one] { $count } событие
    [few] { $count } события
   *[many] { $count } событий
}
search-at-most = (не более)
search-by-index = по индексу
search-by-scan = просмотр архива
search-histogram = События во времени
search-interval = Один столбец: { $seconds } с
search-fields = Поля
search-sample = { $count ->
    [one] по { $count } событию
   *[many] по { $count } событиям
}
search-nothing = Подходящих событий нет.
event-time = Время
event-message = Сообщение
event-title = Событие
event-ingested = Получено
event-source = Источник
event-original = Исходная запись
event-fields = Поля
event-proof = Доказательство запечатывания
event-proof-hint = Место события в запечатанном архиве: запись в блоке, блок в журнале организации и подписанная контрольная точка. Проверяется независимо и без сети.
proof-segment = Сегмент
proof-block = Блок
proof-record = Запись
proof-tree-size = Контрольная точка охватывает блоков
proof-download = Скачать доказательство (JSON)
yes = да
no = нет
none-yet = Пока ничего.
nothing-for-role = Здесь нет ничего для вашей роли.
nav-tenants = Организации
nav-rules = Правила
nav-audit = Аудит
nav-users = Пользователи
nav-hub = Национальная картина
tenants-title = Организации
tenant-name = Название
tenant-id = Идентификатор
retention-hot = Доступно для поиска, дней
retention-years = Хранится, лет
tenant-intro = Организация { $id }: что она зарегистрировала, что ей сообщено и её отчёты.
facilities-title = Объекты
facility-name = Объект
sources-title = Источники
source-name = Источник
source-id = Идентификатор
source-format = Формат
source-facility = Объект
source-interval = Ожидается раз в, с
contacts-title = Контакты
contact-role = Роль
contact-name = Имя
contact-channel = Канал
contact-address = Адрес
contact-language = Язык
assets-title = Активы
asset-name = Актив
asset-product = Продукт (CPE или purl)
asset-version = Версия
asset-addresses = Адреса
assets-concerned-title = Затронутые активы
asset-seen = Указан по
asset-seen-host = имени узла
asset-seen-address = адресу
asset-field = Где
asset-value = Значение
incident-assignee = Исполнитель
incident-unassigned = пока никто
form-assign = Передать инцидент
form-observable = Записать наблюдаемый объект
observables-title = Наблюдаемые объекты
observable-kind = Вид
observable-value = Значение
observable-note = Примечание
observable-kind-ip = IP-адрес
observable-kind-domain = домен
observable-kind-url = URL
observable-kind-hash = хеш файла
observable-kind-email = адрес эл. почты
observable-kind-host = узел
observable-kind-account = учётная запись
observable-kind-file = файл
advisories-title = Касающиеся её бюллетени НКЦИБ
advisory-received = Получен
advisory-title = Бюллетень
advisory-severity = Важность
advisory-assets = Затронутые активы
exchange-title = Сообщения в НКЦИБ
exchange-created = Составлено
exchange-kind = Вид
exchange-state = Состояние
exchange-attempts = Попытки
exchange-delivered = Квитанция
exchange-state-pending = ждёт отправки
exchange-state-retrying = повторная отправка
exchange-state-delivered = доставлено
obligations-title = Регламентные сроки
obligation-fulfilled = Выполнено
report-quarterly = Квартальный отчёт об инцидентах
report-journal = Журнал инцидентов
report-metrics = Метрики за месяц
users-title = Пользователи
user-id = Пользователь
user-name = Имя
user-roles = Роли
user-tenants = Организации
user-mfa = Второй фактор
user-locked = Заблокирован до
user-disabled = Отключён
grants-title = Доступ НКЦИБ
grant-user = Кому
grant-starts = С
grant-ends = До
grant-revoked = Отозван
audit-title = Журнал аудита
audit-user = Кто
audit-action = Действие
audit-outcome = Итог
audit-object = Объект
audit-detail = Подробности
audit-matched = { $count ->
    [one] Подходит { $count } запись; показаны 200 последних.
    [few] Подходят { $count } записи; показаны 200 последних.
   *[many] Подходит { $count } записей; показаны 200 последних.
}
rules-title = Правила обнаружения
rule-files-title = Импортированные файлы правил
rule-file = Файл
rule-version = Версия
rule-imported = Импортирован
rule-imported-by = Кем
rule-sha256 = SHA-256
rule-settings-title = Переключённые для организации правила
rule-settings-note = Правила, которых нет в списке, работают как поставлены, для { $tenant }.
rule-id = Правило
rule-enabled = Включено
rule-updated-by = Кем
rule-updated = Когда
rule-exceptions-title = Исключения
rule-field = Поле
rule-value = Значение
rule-until = До
hub-title = Национальная картина
hub-by-level = По уровню
hub-by-isoc = По ОЦИБ
hub-by-status = По статусу
hub-late = С опозданием
hub-late-reports = Первые сообщения позже 15 минут
hub-incidents-title = Сообщённые инциденты
hub-isoc = ОЦИБ
hub-confirmed = Подтверждён
hub-reported = Впервые сообщён
hub-isocs-title = Зарегистрированные ОЦИБ
hub-fingerprint = Сертификат (SHA-256)
hub-registered = Зарегистрирован
hub-revoked = Отозван
hub-messages-title = Полученные сообщения
hub-received = Получено
hub-digest = Дайджест
evidence-title = Доказательства
evidence-event = Событие
evidence-added = Сохранено
evidence-by = Кем
evidence-attach = Сохранить как доказательство
custody-title = Цепочка хранения
incident-work = Работа с инцидентом
entry-kind = Запись
entry-text = Текст
entry-add = Добавить
level-override = Изменить уровень
entry-comment = комментарий
entry-event = событие
entry-cause = причина
entry-lessons = извлечённые уроки
entry-detected = обнаружение
entry-alert = оповещение
entry-status = статус
entry-task = задача
entry-level = уровень
entry-evidence = доказательство
entry-notification = уведомление
entry-obligation = срок
source-last-seen = Последнее событие
source-events = События
source-clock = Смещение часов
source-silent = молчит
source-drifting = часы уходят
source-ok = в порядке
service-disk = Свободно на диске данных
service-disk-refusing = Диск данных почти заполнен: новые события не принимаются, пока не освободится место.
done-title = Готово
done-shown-once = Скопируйте сейчас: это показывается один раз и больше не будет показано.
done-back = Назад
shown-one-time-password = Одноразовый пароль
shown-secret = Секрет подписи вебхука
form-asset = Добавить актив
form-contact = Добавить контакт
form-contacts-confirm = Подтвердить контакты в НКЦИБ за квартал
form-user = Добавить пользователя
form-rule-switch = Переключить правило для организации
rule-on = вкл.
rule-off = выкл.
contact-role-owner = собственник
contact-role-security = ответственный за ИБ
contact-role-personal-data = ответственный за персональные данные
contact-channel-email = эл. почта
contact-channel-webhook = вебхук
lang-kk = казахский
lang-ru = русский
lang-en = английский
risks-title = Каталог угроз
risks-realized-title = Реализованные угрозы
risk-title = Угроза
risk-threat = Описание
risk-likelihood = Вероятность (1–5)
risk-impact = Ущерб (1–5)
risk-score = Оценка
risk-rating = Уровень
risk-treatment = Обработка
risk-plan = План обработки
risk-owner = Ответственный
risk-incidents = Инциденты
form-risk = Добавить угрозу
form-risk-link = Связать с реализованной угрозой
treatment-mitigate = снижение
treatment-accept = принятие
treatment-transfer = передача
treatment-avoid = уклонение
report-consolidated = Сводный квартальный отчёт (все организации)
evidence-files-title = Файлы-доказательства
evidence-file = Файл
evidence-size = Байт
evidence-sha256 = SHA-256
evidence-upload = Сохранить файл как доказательство
evidence-upload-failed = Файл не сохранён
alerts-by-rule = На этой странице, по правилам
rule-test-title = Проверка правила
rule-test-open = Проверить правило Sigma на примерах событий
rule-test-hint = Вставьте правило Sigma (можно с корреляциями и фильтрами) и события в JSON, по одному в строке; ничего не импортируется и не сохраняется.
rule-test-rule = Правило Sigma (YAML)
rule-test-events = События (JSON, по одному в строке)
rule-test-run = Проверить
rule-test-result = Результат
rule-test-event = Событие
rule-test-matched = Сработали правила
rule-test-sample-ok = как ожидалось
rule-test-sample-failed = НЕ как ожидалось
rule-test-bad-event = Событие не в формате JSON: { $what }
retention-searchable = { $count ->
    [one] поиск за { $count } день
    [few] поиск за { $count } дня
   *[many] поиск за { $count } дней
}
retention-kept = { $count ->
    [one] хранится { $count } год
    [few] хранится { $count } года
   *[many] хранится { $count } лет
}
