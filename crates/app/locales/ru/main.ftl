language-name = Русский
site-name = Экдвар
skip-to-content = Перейти к основному содержанию
nav-label = Учётная запись
nav-account = Личный кабинет
nav-login = Войти
nav-logout = Выйти
nav-register = Зарегистрироваться
language-switch = Язык
footer-text = Экдвар — одна учётная запись для всех государственных услуг.
home-title = Одна учётная запись для всех государственных услуг
home-lead = Зарегистрируйтесь один раз и пользуйтесь услугами всех ведомств.
home-register = Зарегистрироваться
home-welcome-back = С возвращением, { $name }.
error-summary-title = Проверьте введённые данные
save = Сохранить
register-title = Регистрация
register-lead = Укажите номер мобильного телефона или адрес электронной почты. Мы пришлём код или ссылку для проверки.
register-continue = Продолжить
register-have-account = Уже есть учётная запись?
register-password-title = Выберите логин и пароль
register-password-lead = Почти готово, { $name }. Входить можно по логину, телефону или почте.
register-create = Создать учётную запись
field-contact = Мобильный телефон или электронная почта
field-contact-hint = Номер мобильного телефона, например { $phones }, или адрес электронной почты, например name@example.ru
field-first-name = Имя
field-last-name = Фамилия
field-consent = Даю согласие на обработку моих персональных данных для предоставления государственных услуг.
field-code = Код
field-code-hint = Шестизначный код, который мы прислали.
field-portal-id = Логин
field-portal-id-hint = От 4 до 32 латинских букв, цифр, точек, дефисов или подчёркиваний; первая — буква.
field-identifier = Телефон, почта или логин
field-identifier-hint = Любой из указанных в учётной записи.
field-password = Пароль
field-new-password = Новый пароль
field-password-hint = Не менее { $n } { $n ->
        [one] символа
       *[other] символов
    }. Несколько несвязанных слов легко запомнить и трудно угадать.
field-confirm-password = Повторите пароль
password-show = Показать пароль
password-hide = Скрыть пароль
field-current-password = Текущий пароль
reauth-hint = Для вашей безопасности: вы вошли больше 10 минут назад.
field-new-contact = Новый телефон или адрес почты
strength-0 = Надёжность пароля: очень низкая
strength-1 = Надёжность пароля: низкая
strength-2 = Надёжность пароля: средняя
strength-3 = Надёжность пароля: хорошая
strength-4 = Надёжность пароля: высокая
captcha-legend = Подтвердите, что вы человек
captcha-why = Из вашей сети было много попыток входа, поэтому мы проверяем, что вы человек. Если в браузере работают скрипты, он сделает это сам; иначе решите пример.
captcha-done = Проверка пройдена. Можно продолжать.
captcha-question = Сколько будет { $a } плюс { $b }?
captcha-working = Проверяем автоматически…
verify-title = Введите код
verify-lead-sms = Мы отправили шестизначный код по SMS на { $contact }. Он действует 10 минут.
verify-lead-email = Мы отправили ссылку на { $contact }. Откройте её, чтобы продолжить; она действует 24 часа.
verify-title-email = Проверьте почту
verify-link-hint = Откройте письмо от Экдвар и перейдите по ссылке в нём. Эту страницу можно закрыть. Если письмо не пришло за несколько минут, проверьте папку «Спам» или отправьте новую ссылку.
verify-resend-link = Отправить новую ссылку
verify-continue = Продолжить
verify-resend = Отправить новый код
verify-start-again = Неверный номер или адрес? Изменить
login-title = Вход
login-button = Войти
login-forgot-password = Забыли пароль?
login-forgot-portal-id = Забыли логин?
recover-title = Восстановление пароля
recover-lead = Укажите телефон, почту или логин учётной записи. Мы отправим код или ссылку на подтверждённый контакт.
recover-send = Отправить
recover-verify-title = Проверьте телефон или почту
recover-verify-lead = Если учётная запись найдена, мы отправили на её контакт шестизначный код по SMS или ссылку по почте. Введите код ниже или откройте ссылку.
recover-password-title = Выберите новый пароль
portal-id-title = Узнать логин
portal-id-lead = Укажите телефон или почту учётной записи. Если они указаны в учётной записи, мы пришлём туда её логин.
contact-verify-title = Подтвердите новый контакт
account-title = Личный кабинет
account-name = Имя
account-phone = Мобильный телефон
account-email = Электронная почта
account-none = не указано
account-level = Уровень учётной записи
account-change-name = Изменить имя
account-change-contact = Добавить или изменить телефон или почту
account-send-code = Отправить код
account-change-password = Изменить пароль
account-more = Безопасность
level-simplified = Упрощённый
level-standard = Стандартный
level-verified = Подтверждённый
level-next-standard = Для стандартного уровня укажите документ, удостоверяющий личность, и номера государственных идентификаторов; они проверяются по государственным реестрам.
level-next-verified = Для подтверждённого уровня подтвердите личность в центре обслуживания, кодом активации из заказного письма или электронной подписью.
account-level-more = Что означают уровни
levels-title = Уровни учётной записи
levels-lead = Некоторым услугам нужна бо́льшая уверенность в том, что вы — это вы. Каждый уровень добавляет проверку; уровни получают по порядку.
levels-current = ваш уровень
levels-raise = Как повысить уровень
levels-coming = Добавить документы и подтвердить личность на этом портале пока нельзя. Это появится на странице «Что означают уровни» в вашей учётной записи; до тех пор ваши услуги работают на текущем уровне.
levels-back = Вернуться в учётную запись
level-about-simplified = Ваше имя и подтверждённый номер мобильного телефона или адрес почты. Достаточно для справочной информации, страницы приложений и приложений, которым больше ничего не нужно.
level-about-standard = Добавляются документ, удостоверяющий личность, и номера государственных идентификаторов; они автоматически проверяются по государственным реестрам (от нескольких минут до нескольких дней, о результате вам сообщат). Нужен для записи на приём, штрафов и большинства заявлений.
level-about-verified = Личность подтверждена лично в центре обслуживания, кодом активации из заказного письма или электронной подписью. Нужен для услуг, имеющих юридическую силу.
sessions-title = Где выполнен вход
sessions-caption = Активные сеансы
sessions-device = Устройство
sessions-ip = IP-адрес
sessions-started = Начало
sessions-last-seen = Последняя активность
sessions-action = Действие
sessions-this-device = это устройство
sessions-revoke = Завершить
sessions-logout-all = Выйти на всех устройствах
security-title = События безопасности
security-caption = Последние события безопасности вашей учётной записи
security-when = Когда
security-what = Что произошло
security-lead = Всё, что происходило со входами, паролем и контактами вашей учётной записи, сначала новые.
security-none = С вашей учётной записью пока ничего не происходило.
security-pages = Страницы событий безопасности
security-newest = Последние события
security-older = Более ранние события
security-not-you = Что-то из этого сделали не вы? Сразу смените пароль, затем сообщите в поддержку.
security-change-password = Сменить пароль
security-helpdesk = Поддержка
audit-login-failed-failure = Вход не выполнен: неверный пароль
audit-login-failed-denied = Вход отклонён: слишком много попыток, вход временно приостановлен
audit-password-changed-failure = Пароль не изменён: текущий пароль указан неверно
outbox-title = Исходящие
outbox-lead = Режим разработки: эти сообщения не отправлялись через настоящий шлюз.
error-title = Что-то пошло не так
error-not-found-title = Страница не найдена
error-reference = Код ошибки для службы поддержки: { $id }
error-home = На главную
notice-welcome = Ваша учётная запись готова.
notice-logged-out = Вы вышли из учётной записи.
notice-logged-out-everywhere = Вы вышли на всех устройствах.
notice-code-resent = Мы отправили новый код.
notice-password-reset = Пароль изменён. Войдите с новым паролем.
notice-password-changed = Пароль изменён. На других устройствах выполнен выход.
notice-password-expired = Срок действия пароля истёк. Чтобы продолжить, выберите новый.
notice-portal-id-sent = Если этот контакт указан в учётной записи, мы отправили туда её логин.
notice-saved = Сохранено.
notice-contact-changed = Контактные данные обновлены.
notice-session-ended = Сеанс завершён.
err-phone-invalid = Введите номер мобильного телефона так, как его пишут в вашей стране, например { $phones }
err-email-invalid = Введите правильный адрес почты, например name@example.ru
err-portal-id-format = Логин — от 4 до 32 латинских букв, цифр, точек, дефисов или подчёркиваний, начиная с буквы
err-portal-id-reserved = Этот логин зарезервирован. Выберите другой
err-portal-id-taken = Этот логин занят. Выберите другой
err-name-missing = Введите имя
err-last-name-missing = Введите фамилию
err-first-name-missing = Введите имя
err-contact-missing = Введите номер мобильного телефона или адрес электронной почты
err-name-too-long = Имя может содержать не более 100 символов
err-name-characters = Имя может содержать буквы, пробелы, точки, апострофы и дефисы
err-identifier-invalid = Введите телефон, адрес почты или логин
err-region-invalid = Неизвестный регион
err-otp-format = Введите 6 цифр кода
err-consent-required = Для регистрации нужно согласие на обработку персональных данных
err-captcha-wrong = Ответ неверный. Попробуйте ещё раз
err-captcha-expired = Время проверки истекло. Ответьте на новый вопрос
err-captcha-required = С вашего адреса было слишком много попыток. Ответьте на проверочный вопрос ниже и попробуйте снова
err-password-too-short = Пароль должен содержать не менее { $n } { $n ->
        [one] символа
       *[other] символов
    }
err-password-too-long = Пароль может содержать не более { $n } { $n ->
        [one] символа
       *[other] символов
    }
err-password-common = Этот пароль слишком распространён. Выберите менее очевидный
err-password-contains-identifier = Пароль не должен содержать ваше имя, телефон, почту или логин
err-password-composition = Пароль должен содержать строчную букву, заглавную букву и цифру
err-password-weak = Этот пароль слишком легко угадать. Добавьте слова или символы
err-password-mismatch = Пароли не совпадают
err-password-current-wrong = Текущий пароль неверный
err-reauth-required = Чтобы изменить контакт, введите пароль
err-reauth-login-again = Для вашей безопасности выйдите и войдите снова, чтобы изменить контакт
err-password-same = Новый пароль должен отличаться от текущего
err-contact-unchanged = Это уже ваш контакт
err-already-registered = Уже зарегистрировано
err-login-failed = Неверный телефон, почта, логин или пароль. Проверьте их или восстановите пароль
err-throttled = Слишком много попыток. Повторите через { $minutes } { $minutes ->
        [one] минуту
        [few] минуты
       *[other] минут
    } или восстановите пароль
err-code-wrong = Код неверный. { $left ->
        [one] Осталась { $left } попытка
        [few] Осталось { $left } попытки
       *[other] Осталось { $left } попыток
    }
err-code-too-many = Слишком много неверных кодов. Запросите новый код или начните заново
err-resend-too-soon = Новый код можно запросить через { $seconds } { $seconds ->
        [one] секунду
        [few] секунды
       *[other] секунд
    }
err-flow-expired = Срок этого шага истёк или он уже выполнен. Начните заново
err-account-locked = Учётная запись заблокирована. Обратитесь в службу поддержки или центр обслуживания
err-csrf = Срок действия формы истёк. Вернитесь, обновите страницу и попробуйте снова
err-too-large = Форма слишком большая
err-method-not-allowed = Этот адрес нельзя использовать таким образом. Вернитесь и воспользуйтесь кнопками и ссылками на странице
err-bad-request = Не удалось прочитать запрос. Вернитесь, обновите страницу и попробуйте снова
err-not-found = По этому адресу нет страницы. Проверьте адрес или перейдите на главную
err-internal = Не удалось выполнить действие. Попробуйте ещё раз; если ошибка повторится, обратитесь в поддержку с номером ниже
err-form-invalid = В форме есть ошибки
audit-registered = Учётная запись создана
audit-registration-on-existing-contact = Кто-то пытался зарегистрироваться с вашим контактом
audit-login-succeeded = Вход
audit-login-failed = Неудачный вход
audit-lockout = Вход приостановлен после неудачных попыток
audit-logout = Выход
audit-logout-everywhere = Выход на всех устройствах
audit-session-revoked = Сеанс завершён
audit-password-changed = Смена пароля
audit-recovery-requested = Запрошено восстановление пароля
audit-password-reset = Пароль восстановлен
audit-portal-id-reminded = Отправлен логин
audit-contact-change-requested = Запрошена смена контакта
audit-contact-changed = Контакт изменён
audit-name-changed = Имя изменено
audit-language-changed = Язык изменён
audit-admin-user-added = Учётная запись создана администратором
audit-admin-user-locked = Учётная запись заблокирована администратором
audit-admin-user-unlocked = Учётная запись разблокирована администратором
sms-register = Код Экдвар { $code }. Действует { $minutes } мин. Никому не сообщайте.
email-register-subject = Подтвердите почту для Экдвар
email-register-body = Откройте ссылку, чтобы подтвердить адрес почты и продолжить регистрацию:
    { $link }
    Ссылка действует { $hours } ч. Если вы её не запрашивали, просто проигнорируйте письмо.
sms-register-existing = Кто-то пытался зарегистрироваться в Экдвар с этим номером. Ваш логин: { $portal_id }. Забыли пароль? { $link }
email-register-existing-subject = Кто-то пытался зарегистрироваться с вашей почтой
email-register-existing-body = Кто-то пытался зарегистрироваться в Экдвар с этим адресом почты. Он уже принадлежит учётной записи { $portal_id }.
    Если это были вы, войдите или восстановите пароль: { $link }
    Если нет, просто проигнорируйте письмо.
sms-recover = Код сброса пароля Экдвар { $code }, { $minutes } мин. Никому не сообщайте.
email-recover-subject = Восстановление пароля Экдвар
email-recover-body = Откройте ссылку, чтобы выбрать новый пароль:
    { $link }
    Ссылка действует { $hours } ч. Если вы её не запрашивали, проигнорируйте письмо; пароль не изменится.
sms-portal-id = Ваш логин в Экдвар: { $portal_id }. Вход: { $link }
email-portal-id-subject = Ваш логин в Экдвар
email-portal-id-body = Ваш логин: { $portal_id }.
    Вход: { $link }
sms-contact-verify = Код Экдвар { $code } для привязки номера. Действует { $minutes } мин.
email-contact-verify-subject = Подтвердите новую почту для Экдвар
email-contact-verify-body = Откройте ссылку, чтобы добавить этот адрес в учётную запись Экдвар:
    { $link }
    Ссылка действует { $hours } ч.
sms-contact-changed = Экдвар: контакт учётной записи { $portal_id } изменён на { $new }. Это не вы? Обратитесь в поддержку.
email-contact-changed-subject = Контактные данные Экдвар изменены
email-contact-changed-body = Контакт учётной записи { $portal_id } изменён на { $new }.
    Если это были не вы, срочно обратитесь в поддержку.
sms-password-changed = Экдвар: пароль учётной записи { $portal_id } изменён. Не вы? Смените его.
email-password-changed-subject = Пароль Экдвар изменён
email-password-changed-body = Пароль учётной записи { $portal_id } изменён.
    Если это были не вы, срочно восстановите пароль и обратитесь в поддержку.
# Read by screen readers before each error, and put before the page title.
error-prefix = Ошибка:

## Даты: «23 ноября 2026 г., 13:05 MSK» (месяц в родительном падеже).
datetime = { $day } { $month } { $year } г., { $time } { $zone }
month-1 = января
month-2 = февраля
month-3 = марта
month-4 = апреля
month-5 = мая
month-6 = июня
month-7 = июля
month-8 = августа
month-9 = сентября
month-10 = октября
month-11 = ноября
month-12 = декабря
