// Every text of the screens: Ukrainian first, English second.
// t(key, vars) looks a text up in the current language; {name} in a text is replaced by vars.name.
// Elements carry data-i18n="key" (text) and data-i18n-attr="aria-label:key;placeholder:key2" (attributes);
// applyI18n() fills them and sets <html lang>. The УКР/ENG switch is remembered in localStorage.

const TEXTS = {
  uk: {
    'brand': 'ЦНАП · Електронна черга',
    'skip': 'Перейти до змісту',
    'lang.group': 'Мова',
    'loading': 'Завантаження…',
    'min': '{n} хв',
    'about_min': '≈ {n} хв',
    'lt1': 'менше 1 хв',
    'none': '—',
    'close': 'Закрити',
    'cancel': 'Скасувати',
    'save': 'Зберегти',
    'back': 'Назад',
    'retry': 'Спробувати ще раз',
    'conn.open': 'На зв’язку',
    'conn.closed': 'Відновлюю зв’язок…',
    'err.network': 'Немає зв’язку з сервером. Перевірте мережу — спробуємо ще раз.',
    'err.http': 'Помилка сервера ({status}).',
    'err.office': 'Офіс «{id}» не знайдено.',
    'err.desk': 'Вікно «{id}» не знайдено.',
    'net.all': 'Уся мережа ЦНАП',

    'token.title': 'Потрібен токен пристрою',
    'token.explain': 'Цей пристрій: {role}, «{scope}». Введіть токен, виданий адміністратором системи (команда «cherga token issue»). Його буде збережено на цьому пристрої.',
    'token.label': 'Токен пристрою',
    'token.show': 'Показати токен',
    'token.save': 'Зберегти й продовжити',
    'token.empty': 'Введіть токен.',
    'token.forget': 'Змінити токен пристрою',
    'role.kiosk': 'кіоск',
    'role.desk': 'пульт вікна',
    'role.head': 'панель керівника',

    'cat.vulnerable': 'Особи з інвалідністю та з дітьми до 3 років',
    'cat.special': 'Паспортні документи (особливе робоче місце)',
    'cat.quick': 'Швидкі послуги: довідки, витяги',
    'cat.seasonal': 'Сезонні послуги',
    'cat.acceptance': 'Прийом документів',
    'cat.issuance': 'Видача готових документів',
    'cat.consultation': 'Консультації',

    'tstatus.waiting': 'Очікує',
    'tstatus.called': 'Викликано',
    'tstatus.serving': 'Обслуговується',
    'tstatus.done': 'Послугу надано',
    'tstatus.refused': 'Відмова',
    'tstatus.no_show': 'Не з’явився',
    'tstatus.redirected': 'Переадресовано',
    'tstatus.cancelled': 'Скасовано',

    'dstatus.closed': 'Зачинено',
    'dstatus.open': 'Вільне',
    'dstatus.paused': 'Перерва',
    'dstatus.called': 'Виклик',
    'dstatus.serving': 'Обслуговування',

    'kind.main': 'Головний центр',
    'kind.subdivision': 'Територіальний підрозділ',
    'kind.remote': 'Віддалене робоче місце',

    'intent.submit': 'Подати документи',
    'intent.submit.hint': 'оформити, зареєструвати, подати заяву',
    'intent.collect': 'Отримати готовий результат',
    'intent.collect.hint': 'забрати паспорт, посвідчення, рішення',
    'intent.consult': 'Отримати консультацію',
    'intent.consult.hint': 'поставити запитання фахівцю',

    'score.bad': 'Погано',
    'score.good': 'Добре',
    'score.exemplary': 'Зразково',

    // hall board
    'board.title': 'Табло черги',
    'board.calls': 'Виклики',
    'board.now': 'Зараз запрошуємо',
    'board.earlier': 'Попередні виклики',
    'board.nocalls': 'Поки що викликів немає. Слідкуйте за табло.',
    'board.desk': 'вікно {desk}',
    'board.to_desk': 'Талон {ticket} — до вікна {desk}',
    'board.recalled': 'повторно',
    'board.queues': 'Черга зараз',
    'board.cat': 'Категорія',
    'board.waiting': 'Очікують',
    'board.eta': 'Орієнтовне очікування',
    'board.noqueue': 'Зараз ніхто не очікує.',
    'board.sound': 'Увімкнути звук',
    'board.sound_on': 'Звук увімкнено',
    'board.hint': 'Коли ваш номер з’явиться на табло, пройдіть до вказаного вікна.',
    'board.speak': 'Талон {letters}, вікно {desk}',
    'board.clock': 'Поточний час',

    // desk display
    'display.title': 'Дисплей вікна',
    'display.desk': 'Вікно {n}',
    'display.now': 'Обслуговується талон',
    'display.free': 'Вільне',
    'display.closed': 'Зачинено',
    'display.paused': 'Перерва',

    // kiosk
    'kiosk.title': 'Кіоск — отримати талон',
    'kiosk.welcome': 'Вітаємо! Отримайте талон у чергу',
    'kiosk.sphere': 'Оберіть сферу',
    'kiosk.sphere.count': 'послуг: {n}',
    'kiosk.intent': 'Що ви хочете зробити?',
    'kiosk.service': 'Оберіть послугу',
    'kiosk.service.queue': 'у черзі: {n} · очікування {eta}',
    'kiosk.online': 'можна онлайн',
    'kiosk.vuln.q': 'Ви особа з інвалідністю або з дитиною до 3 років?',
    'kiosk.vuln.hint': 'Таких відвідувачів обслуговують першочергово.',
    'kiosk.yes': 'Так',
    'kiosk.no': 'Ні',
    'kiosk.issuing': 'Видаємо талон…',
    'kiosk.your_ticket': 'Ваш талон',
    'kiosk.position': 'Ваше місце в черзі',
    'kiosk.eta': 'Орієнтовне очікування',
    'kiosk.priority': 'Першочергове обслуговування',
    'kiosk.watch': 'Слідкуйте за табло: там з’явиться ваш номер і номер вікна.',
    'kiosk.phone': 'Стежте за чергою на телефоні',
    'kiosk.phone.qr': 'QR-код сторінки вашого талона',
    'kiosk.print': 'Надрукувати талон',
    'kiosk.done': 'Готово',
    'kiosk.home': 'На початок',
    'kiosk.faster': 'Швидше можна в іншому відділенні',
    'kiosk.faster.item': '{office}: очікування {eta} + дорога {travel}',
    'kiosk.faster.note': 'Там ви отримаєте новий талон у кіоску. Цей талон діє тут.',
    'kiosk.online.title': 'Цю послугу можна отримати онлайн',
    'kiosk.online.text': 'Без черги — на сайті: {url}',
    'kiosk.online.qr': 'QR-код адреси онлайн-послуги',
    'kiosk.timeout': 'Екран повернеться на початок через {n} с без дій.',
    'kiosk.checkin': 'Я маю попередній запис',
    'kiosk.checkin.title': 'Реєстрація за кодом запису',
    'kiosk.checkin.label': 'Код запису',
    'kiosk.checkin.submit': 'Отримати талон',
    'kiosk.none': 'У цьому відділенні зараз немає послуг.',
    'kiosk.issued_at': 'Видано: {time}',
    'kiosk.for_service': 'Послуга',
    'kiosk.steps': 'Крок {n} з {of}',

    // desk console
    'desk.title': 'Пульт вікна',
    'desk.heading': 'Вікно {n}',
    'desk.status': 'Стан вікна',
    'desk.current': 'Поточний відвідувач',
    'desk.noticket': 'Немає викликаного талона. Натисніть «Наступний».',
    'desk.service': 'Послуга',
    'desk.category': 'Категорія',
    'desk.tstatus': 'Стан талона',
    'desk.vulnerable': 'Першочергово: особа з інвалідністю або з дитиною',
    'desk.waiting': 'Очікують на це вікно',
    'desk.nowaiting': 'Ніхто не очікує на послуги цього вікна.',
    'desk.col.service': 'Послуга',
    'desk.col.waiting': 'Очікують',
    'desk.col.eta': 'Очікування',
    'desk.actions': 'Дії',
    'desk.shortcuts': 'Клавіші: N — наступний, R — повторити, S — почати, F — надано, X — відмова, M — не з’явився, T — переадресувати, P — пауза/продовжити, O — відкрити, C — закрити.',
    'act.next': 'Наступний',
    'act.recall': 'Повторити виклик',
    'act.start': 'Почати',
    'act.served': 'Завершити — надано',
    'act.refused': 'Завершити — відмова',
    'act.noshow': 'Не з’явився',
    'act.transfer': 'Переадресувати',
    'act.pause': 'Пауза',
    'act.resume': 'Продовжити',
    'act.open': 'Відкрити вікно',
    'act.close': 'Закрити вікно',
    'desk.empty': 'Черга порожня: немає талонів для цього вікна.',
    'desk.called': 'Викликано талон {n}.',
    'desk.done': 'Готово: {what}.',
    'desk.unavailable': '«{what}» зараз недоступно.',
    'xfer.title': 'Переадресувати талон {n}',
    'xfer.where': 'Куди',
    'xfer.service': 'На іншу послугу',
    'xfer.desk': 'До іншого вікна',
    'xfer.office': 'До іншого відділення',
    'xfer.target': 'Оберіть',
    'xfer.position': 'Місце в черзі',
    'xfer.head': 'На початок черги (відвідувач уже чекав)',
    'xfer.end': 'У кінець черги',
    'xfer.submit': 'Переадресувати',
    'xfer.done': 'Талон {n} переадресовано.',

    // head dashboard
    'head.title': 'Панель керівника',
    'head.summary': 'Загалом',
    'head.total_waiting': 'Очікують',
    'head.open_desks': 'Відкриті вікна',
    'head.max_eta': 'Найдовше очікування',
    'head.target': 'Мета: до {t} хв, не більше {l} хв',
    'head.alerts': 'Сповіщення',
    'head.noalerts': 'Сповіщень немає.',
    'head.queues': 'Черги за послугами',
    'head.desks': 'Вікна',
    'head.offices': 'Відділення мережі',
    'head.suggestions': 'Пропозиції переадресації',
    'head.nosuggestions': 'Зараз переадресація не потрібна.',
    'head.policy': 'Порядок обслуговування',
    'head.policy.help': 'Категорії вгорі обслуговують першими. Талон, що наближається до межі очікування, викликають поза чергою.',
    'head.policy.limit': 'Межа очікування, хв',
    'head.policy.up': 'Вище: {cat}',
    'head.policy.down': 'Нижче: {cat}',
    'head.policy.save': 'Зберегти порядок',
    'head.policy.reset': 'Скасувати зміни',
    'head.policy.saved': 'Порядок збережено.',
    'head.policy.moved': '«{cat}» тепер на місці {n}.',
    'head.col.service': 'Послуга',
    'head.col.waiting': 'Очікують',
    'head.col.eta': 'Очікування',
    'head.col.longest': 'Найдовше чекає',
    'head.col.state': 'Оцінка',
    'head.col.desk': 'Вікно',
    'head.col.status': 'Стан',
    'head.col.ticket': 'Талон',
    'head.col.served': 'Обслуговано',
    'head.col.util': 'Завантаження',
    'head.col.for_it': 'Чекають на нього',
    'head.col.office': 'Відділення',
    'head.col.kind': 'Тип',
    'head.col.open': 'Відкриті',
    'head.col.busy': 'Зайняті',
    'head.col.max_eta': 'Макс. очікування',
    'head.ok': 'У нормі',
    'head.warn': 'Понад {t} хв',
    'head.bad': 'Понад {l} хв',
    'head.sugg': 'Талон {n} ({service}) → {office}: тут {here}, там {there} + дорога {travel}, економія {saves}',
    'head.apply': 'Переадресувати {n}',
    'head.applied': 'Талон {n} переадресовано до «{office}».',
    'head.updated': 'Оновлено о {time}',
    'head.empty': 'Немає даних.',

    // ratings
    'ratings.title': 'Оцінки якості обслуговування',
    'ratings.today': 'Сьогодні',
    'ratings.month': 'Цього місяця',
    'ratings.total': 'Усього оцінок: {n}',
    'ratings.positive': 'Добре або зразково: {p}',
    'ratings.none': 'Оцінок ще немає.',
    'ratings.row': '{label}: {n} ({p})',
    'ratings.live': 'Оновлюється в реальному часі.',
    'ratings.new': 'Нова оцінка: {label}.',

    // visitor's ticket page
    'ticket.title': 'Мій талон',
    'ticket.notfound': 'Талон не знайдено. Перевірте посилання.',
    'ticket.number': 'Номер талона',
    'ticket.office': 'Відділення',
    'ticket.service': 'Послуга',
    'ticket.status': 'Стан',
    'ticket.position': 'Ваше місце в черзі',
    'ticket.eta': 'Орієнтовне очікування',
    'ticket.go': 'Пройдіть до вікна {desk}',
    'ticket.serving': 'Вас обслуговують у вікні {desk}',
    'ticket.finished': 'Обслуговування завершено. Дякуємо!',
    'ticket.rate': 'Оцініть, будь ласка, обслуговування',
    'ticket.rate.help': 'Оцінка анонімна: її бачить лише статистика центру.',
    'ticket.rated': 'Дякуємо за оцінку!',
    'ticket.noshow': 'Ви не з’явилися на виклик. Зверніться до адміністратора — талон можна відновити протягом короткого часу.',
    'ticket.redirected': 'Ваш талон переадресовано до іншого відділення.',
    'ticket.newticket': 'Відкрити новий талон',
    'ticket.cancelled': 'Талон скасовано.',
    'ticket.cancel': 'Я йду — скасувати талон',
    'ticket.cancel.confirm': 'Так, скасувати талон',
    'ticket.cancel.sure': 'Скасувати талон? Місце в черзі буде втрачено.',
    'ticket.keep': 'Ні, залишитися в черзі',
    'ticket.live': 'Сторінка оновлюється сама.',
    'ticket.called.announce': 'Вас викликано! Талон {n}, вікно {desk}.',
    'ticket.priority': 'Першочергове обслуговування',

    // booking
    'book.title': 'Попередній запис',
    'book.heading': 'Запис на прийом',
    'book.step.service': '1. Послуга',
    'book.step.date': '2. Дата',
    'book.step.slot': '3. Час',
    'book.service.label': 'Оберіть послугу',
    'book.service.choose': '— оберіть послугу —',
    'book.date.label': 'Дата візиту',
    'book.show': 'Показати вільний час',
    'book.slots': 'Вільний час на {date}',
    'book.noslots': 'На цю дату вільного часу немає. Оберіть іншу дату.',
    'book.pick': 'Оберіть послугу та дату.',
    'book.confirm': 'Записатися на {time}',
    'book.done.title': 'Вас записано',
    'book.done.code': 'Код запису',
    'book.done.when': '{date} о {time}',
    'book.done.howto': 'Збережіть код. У день візиту прийдіть трохи раніше й введіть код у кіоску («Я маю попередній запис») — ви отримаєте талон.',
    'book.again': 'Записатися ще раз',
    'book.address': 'Адреса: {address}',
  },
  en: {
    'brand': 'ASC · Electronic queue',
    'skip': 'Skip to content',
    'lang.group': 'Language',
    'loading': 'Loading…',
    'min': '{n} min',
    'about_min': '≈ {n} min',
    'lt1': 'under 1 min',
    'none': '—',
    'close': 'Close',
    'cancel': 'Cancel',
    'save': 'Save',
    'back': 'Back',
    'retry': 'Try again',
    'conn.open': 'Connected',
    'conn.closed': 'Reconnecting…',
    'err.network': 'No connection to the server. Check the network — we will try again.',
    'err.http': 'Server error ({status}).',
    'err.office': 'Office “{id}” not found.',
    'err.desk': 'Desk “{id}” not found.',
    'net.all': 'The whole network of centres',

    'token.title': 'Device token needed',
    'token.explain': 'This device: {role}, “{scope}”. Enter the token issued by the system administrator (the “cherga token issue” command). It will be kept on this device.',
    'token.label': 'Device token',
    'token.show': 'Show the token',
    'token.save': 'Save and continue',
    'token.empty': 'Enter the token.',
    'token.forget': 'Change the device token',
    'role.kiosk': 'kiosk',
    'role.desk': 'desk console',
    'role.head': 'head’s dashboard',

    'cat.vulnerable': 'People with disabilities or with children under 3',
    'cat.special': 'Passport documents (specially equipped desk)',
    'cat.quick': 'Quick services: certificates, extracts',
    'cat.seasonal': 'Seasonal services',
    'cat.acceptance': 'Document acceptance',
    'cat.issuance': 'Issuance of ready documents',
    'cat.consultation': 'Consultations',

    'tstatus.waiting': 'Waiting',
    'tstatus.called': 'Called',
    'tstatus.serving': 'Being served',
    'tstatus.done': 'Served',
    'tstatus.refused': 'Refused',
    'tstatus.no_show': 'Did not come',
    'tstatus.redirected': 'Redirected',
    'tstatus.cancelled': 'Cancelled',

    'dstatus.closed': 'Closed',
    'dstatus.open': 'Free',
    'dstatus.paused': 'Paused',
    'dstatus.called': 'Calling',
    'dstatus.serving': 'Serving',

    'kind.main': 'Main centre',
    'kind.subdivision': 'Territorial branch',
    'kind.remote': 'Remote workplace',

    'intent.submit': 'Submit documents',
    'intent.submit.hint': 'apply, register, file a request',
    'intent.collect': 'Collect a result',
    'intent.collect.hint': 'pick up a passport, a licence, a decision',
    'intent.consult': 'Get a consultation',
    'intent.consult.hint': 'ask a specialist',

    'score.bad': 'Bad',
    'score.good': 'Good',
    'score.exemplary': 'Exemplary',

    'board.title': 'Queue board',
    'board.calls': 'Calls',
    'board.now': 'Now calling',
    'board.earlier': 'Earlier calls',
    'board.nocalls': 'No calls yet. Please watch the board.',
    'board.desk': 'desk {desk}',
    'board.to_desk': 'Ticket {ticket} — to desk {desk}',
    'board.recalled': 'again',
    'board.queues': 'Queue now',
    'board.cat': 'Category',
    'board.waiting': 'Waiting',
    'board.eta': 'Expected wait',
    'board.noqueue': 'Nobody is waiting now.',
    'board.sound': 'Enable sound',
    'board.sound_on': 'Sound on',
    'board.hint': 'When your number appears on the board, go to the desk shown.',
    'board.speak': 'Ticket {letters}, desk {desk}',
    'board.clock': 'Current time',

    'display.title': 'Desk display',
    'display.desk': 'Desk {n}',
    'display.now': 'Now serving ticket',
    'display.free': 'Free',
    'display.closed': 'Closed',
    'display.paused': 'Paused',

    'kiosk.title': 'Kiosk — take a ticket',
    'kiosk.welcome': 'Welcome! Take a queue ticket',
    'kiosk.sphere': 'Choose an area',
    'kiosk.sphere.count': '{n} services',
    'kiosk.intent': 'What would you like to do?',
    'kiosk.service': 'Choose a service',
    'kiosk.service.queue': 'waiting: {n} · wait {eta}',
    'kiosk.online': 'available online',
    'kiosk.vuln.q': 'Do you have a disability, or are you with a child under 3?',
    'kiosk.vuln.hint': 'These visitors are served first.',
    'kiosk.yes': 'Yes',
    'kiosk.no': 'No',
    'kiosk.issuing': 'Issuing your ticket…',
    'kiosk.your_ticket': 'Your ticket',
    'kiosk.position': 'Your place in the queue',
    'kiosk.eta': 'Expected wait',
    'kiosk.priority': 'Priority service',
    'kiosk.watch': 'Watch the board: your number and the desk number will appear there.',
    'kiosk.phone': 'Follow the queue on your phone',
    'kiosk.phone.qr': 'QR code of your ticket’s page',
    'kiosk.print': 'Print the ticket',
    'kiosk.done': 'Done',
    'kiosk.home': 'Start over',
    'kiosk.faster': 'Faster at another branch',
    'kiosk.faster.item': '{office}: wait {eta} + travel {travel}',
    'kiosk.faster.note': 'There you take a new ticket at the kiosk. This ticket is valid here.',
    'kiosk.online.title': 'This service is available online',
    'kiosk.online.text': 'No queue — online at: {url}',
    'kiosk.online.qr': 'QR code of the online service address',
    'kiosk.timeout': 'The screen returns to the start after {n} s without activity.',
    'kiosk.checkin': 'I have an appointment',
    'kiosk.checkin.title': 'Check in with your appointment code',
    'kiosk.checkin.label': 'Appointment code',
    'kiosk.checkin.submit': 'Get a ticket',
    'kiosk.none': 'No services at this office now.',
    'kiosk.issued_at': 'Issued: {time}',
    'kiosk.for_service': 'Service',
    'kiosk.steps': 'Step {n} of {of}',

    'desk.title': 'Desk console',
    'desk.heading': 'Desk {n}',
    'desk.status': 'Desk status',
    'desk.current': 'Current visitor',
    'desk.noticket': 'No ticket called. Press “Next”.',
    'desk.service': 'Service',
    'desk.category': 'Category',
    'desk.tstatus': 'Ticket status',
    'desk.vulnerable': 'Priority: a person with a disability or with a child',
    'desk.waiting': 'Waiting for this desk',
    'desk.nowaiting': 'Nobody is waiting for this desk’s services.',
    'desk.col.service': 'Service',
    'desk.col.waiting': 'Waiting',
    'desk.col.eta': 'Wait',
    'desk.actions': 'Actions',
    'desk.shortcuts': 'Keys: N — next, R — recall, S — start, F — served, X — refused, M — no-show, T — transfer, P — pause/resume, O — open, C — close.',
    'act.next': 'Next',
    'act.recall': 'Recall',
    'act.start': 'Start',
    'act.served': 'Finish — served',
    'act.refused': 'Finish — refused',
    'act.noshow': 'No-show',
    'act.transfer': 'Transfer',
    'act.pause': 'Pause',
    'act.resume': 'Resume',
    'act.open': 'Open desk',
    'act.close': 'Close desk',
    'desk.empty': 'The queue is empty: no tickets for this desk.',
    'desk.called': 'Ticket {n} called.',
    'desk.done': 'Done: {what}.',
    'desk.unavailable': '“{what}” is not available now.',
    'xfer.title': 'Transfer ticket {n}',
    'xfer.where': 'Where to',
    'xfer.service': 'To another service',
    'xfer.desk': 'To another desk',
    'xfer.office': 'To another branch',
    'xfer.target': 'Choose',
    'xfer.position': 'Place in the queue',
    'xfer.head': 'At the head of the queue (the visitor already waited)',
    'xfer.end': 'At the end of the queue',
    'xfer.submit': 'Transfer',
    'xfer.done': 'Ticket {n} transferred.',

    'head.title': 'Head’s dashboard',
    'head.summary': 'Overview',
    'head.total_waiting': 'Waiting',
    'head.open_desks': 'Open desks',
    'head.max_eta': 'Longest expected wait',
    'head.target': 'Target: under {t} min, never over {l} min',
    'head.alerts': 'Alerts',
    'head.noalerts': 'No alerts.',
    'head.queues': 'Queues by service',
    'head.desks': 'Desks',
    'head.offices': 'Offices of the network',
    'head.suggestions': 'Suggested redirects',
    'head.nosuggestions': 'No redirect needed now.',
    'head.policy': 'Priority order',
    'head.policy.help': 'Categories at the top are served first. A ticket nearing its wait limit is called ahead of rank.',
    'head.policy.limit': 'Wait limit, min',
    'head.policy.up': 'Move up: {cat}',
    'head.policy.down': 'Move down: {cat}',
    'head.policy.save': 'Save the order',
    'head.policy.reset': 'Discard changes',
    'head.policy.saved': 'The order is saved.',
    'head.policy.moved': '“{cat}” is now at place {n}.',
    'head.col.service': 'Service',
    'head.col.waiting': 'Waiting',
    'head.col.eta': 'Expected wait',
    'head.col.longest': 'Longest wait',
    'head.col.state': 'Assessment',
    'head.col.desk': 'Desk',
    'head.col.status': 'Status',
    'head.col.ticket': 'Ticket',
    'head.col.served': 'Served',
    'head.col.util': 'Utilisation',
    'head.col.for_it': 'Waiting for it',
    'head.col.office': 'Office',
    'head.col.kind': 'Kind',
    'head.col.open': 'Open',
    'head.col.busy': 'Busy',
    'head.col.max_eta': 'Max. wait',
    'head.ok': 'On target',
    'head.warn': 'Over {t} min',
    'head.bad': 'Over {l} min',
    'head.sugg': 'Ticket {n} ({service}) → {office}: here {here}, there {there} + travel {travel}, saves {saves}',
    'head.apply': 'Redirect {n}',
    'head.applied': 'Ticket {n} redirected to “{office}”.',
    'head.updated': 'Updated at {time}',
    'head.empty': 'No data.',

    'ratings.title': 'Service quality ratings',
    'ratings.today': 'Today',
    'ratings.month': 'This month',
    'ratings.total': 'Ratings in all: {n}',
    'ratings.positive': 'Good or exemplary: {p}',
    'ratings.none': 'No ratings yet.',
    'ratings.row': '{label}: {n} ({p})',
    'ratings.live': 'Updated in real time.',
    'ratings.new': 'New rating: {label}.',

    'ticket.title': 'My ticket',
    'ticket.notfound': 'Ticket not found. Check the link.',
    'ticket.number': 'Ticket number',
    'ticket.office': 'Office',
    'ticket.service': 'Service',
    'ticket.status': 'Status',
    'ticket.position': 'Your place in the queue',
    'ticket.eta': 'Expected wait',
    'ticket.go': 'Please go to desk {desk}',
    'ticket.serving': 'You are being served at desk {desk}',
    'ticket.finished': 'Service finished. Thank you!',
    'ticket.rate': 'Please rate the service',
    'ticket.rate.help': 'The rating is anonymous: only the centre’s statistics see it.',
    'ticket.rated': 'Thank you for your rating!',
    'ticket.noshow': 'You did not come when called. Ask an administrator — the ticket can be restored for a short time.',
    'ticket.redirected': 'Your ticket was redirected to another office.',
    'ticket.newticket': 'Open the new ticket',
    'ticket.cancelled': 'The ticket is cancelled.',
    'ticket.cancel': 'I am leaving — cancel the ticket',
    'ticket.cancel.confirm': 'Yes, cancel the ticket',
    'ticket.cancel.sure': 'Cancel the ticket? You will lose your place in the queue.',
    'ticket.keep': 'No, stay in the queue',
    'ticket.live': 'This page updates by itself.',
    'ticket.called.announce': 'You are called! Ticket {n}, desk {desk}.',
    'ticket.priority': 'Priority service',

    'book.title': 'Appointment',
    'book.heading': 'Book an appointment',
    'book.step.service': '1. Service',
    'book.step.date': '2. Date',
    'book.step.slot': '3. Time',
    'book.service.label': 'Choose a service',
    'book.service.choose': '— choose a service —',
    'book.date.label': 'Date of the visit',
    'book.show': 'Show free times',
    'book.slots': 'Free times on {date}',
    'book.noslots': 'No free time on this date. Choose another date.',
    'book.pick': 'Choose a service and a date.',
    'book.confirm': 'Book {time}',
    'book.done.title': 'You are booked',
    'book.done.code': 'Appointment code',
    'book.done.when': '{date} at {time}',
    'book.done.howto': 'Keep the code. On the day, come a little early and enter the code at the kiosk (“I have an appointment”) to get a ticket.',
    'book.again': 'Book another',
    'book.address': 'Address: {address}',
  },
};

export const LANGS = ['uk', 'en'];
const KEY = 'cherga.lang';
const listeners = new Set();

function stored() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

let current = LANGS.includes(stored()) ? stored() : 'uk';

export function getLang() {
  return current;
}

/** The text of `key` in the current language, with {name} replaced from `vars`. */
export function t(key, vars = {}) {
  const text = TEXTS[current][key] ?? TEXTS.uk[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Whether a text exists for `key` (e.g. a category name). */
export function has(key) {
  return key in TEXTS.uk;
}

/** Fill [data-i18n] and [data-i18n-attr] under `root`, and set <html lang>. */
export function applyI18n(root = document) {
  document.documentElement.lang = current;
  root.querySelectorAll('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n, el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : {});
  });
  root.querySelectorAll('[data-i18n-attr]').forEach((el) => {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  });
}

export function setLang(lang) {
  if (!LANGS.includes(lang) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(KEY, lang);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  applyI18n();
  listeners.forEach((fn) => fn(lang));
}

/** Call `fn(lang)` after every switch of language. */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The visible УКР/ENG switch: two buttons, aria-pressed marks the current language. */
export function mountLangSwitch(container) {
  const group = document.createElement('div');
  group.className = 'lang-switch';
  group.setAttribute('role', 'group');
  group.setAttribute('data-i18n-attr', 'aria-label:lang.group');
  group.setAttribute('aria-label', t('lang.group'));
  const labels = { uk: ['УКР', 'Українська'], en: ['ENG', 'English'] };
  for (const lang of LANGS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.lang = lang;
    b.dataset.lang = lang;
    b.textContent = labels[lang][0];
    b.title = labels[lang][1];
    b.addEventListener('click', () => setLang(lang));
    group.append(b);
  }
  const sync = () => group.querySelectorAll('button').forEach((b) => {
    b.setAttribute('aria-pressed', String(b.dataset.lang === current));
  });
  sync();
  onLangChange(sync);
  container.append(group);
  return group;
}
