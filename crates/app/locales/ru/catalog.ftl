nav-services = Услуги
services-title = Услуги
services-results-title = Найденные услуги
services-search-label = Поиск услуги
services-search-hint = На любом языке, например «passport», «पासपोर्ट», «পাসপোর্ট» или «паспорт».
services-search = Найти
services-region-label = Где вы живёте?
services-region-everywhere = Везде (показать все)
services-region-choose = Показать услуги региона
services-showing-in = Показаны услуги, которые предоставляются в регионе: { $place }.
services-by-department = По ведомствам
services-by-category = По категориям
services-all = Все услуги
services-found = { $count ->
    [one] Найдена { $count } услуга
    [few] Найдено { $count } услуги
   *[other] Найдено { $count } услуг
}
services-clear = Показать все услуги
services-none = Ничего не найдено. Проверьте написание, сократите запрос или выберите «Везде» выше.
home-popular = Популярные услуги
home-all-services = Все услуги
service-not-offered-in = Эта услуга не предоставляется в регионе: { $place }.
service-offered-in = Она предоставляется: { $places }.
service-how = Как получить
service-online = Подайте заявление здесь: заполните форму, сохраняйте и возвращайтесь в любое время, затем отправьте.
service-level = Нужна учётная запись уровня «{ $level }».
service-in-app = Услуга предоставляется в приложении ведомства. Вход туда — через учётную запись Ekdwar.
service-open-app = Открыть приложение ведомства
service-in-person = Услуга предоставляется только лично.
service-eligibility = Кто может подать
service-documents = Какие документы принести
service-document-if-applicable = если относится к вам
service-document-any-of = Любой из:
service-fees = Пошлины и сборы
service-fee = Сбор
service-fee-amount = Сумма
service-fee-when = Когда платить
service-fee-online = Онлайн, до записи на приём
service-fee-at-centre = В центре
service-processing = Сроки
service-days = { $days ->
    [one] { $days } рабочий день
    [few] { $days } рабочих дня
   *[other] { $days } рабочих дней
}
service-days-range = от { $min } до { $max } рабочих дней
service-faq = Вопросы
service-help = Помощь
service-help-phone = Справочная служба:
service-help-email = Эл. почта:
