nav-services = Services
services-title = Services
services-results-title = Services found
services-search-label = Search for a service
services-search-hint = In any language, for example "passport", "पासपोर्ट", "পাসপোর্ট" or "паспорт".
services-search = Search
services-region-label = Where do you live?
services-region-everywhere = Everywhere (show all)
services-region-choose = Show services there
services-showing-in = Showing services offered in { $place }.
services-by-department = By department
services-by-category = By category
services-all = All services
services-found = { $count ->
    [one] 1 service found
   *[other] { $count } services found
}
services-clear = Show all services
services-none = No service matches. Check the spelling, try fewer words, or choose "Everywhere" above.
home-popular = Popular services
home-all-services = All services
service-not-offered-in = This service is not offered in { $place }.
service-offered-in = It is offered in: { $places }.
service-how = How to get it
service-online = Apply online here: fill in the form, save it and come back at any time, then submit.
service-level = You need an account at the { $level } level.
service-in-app = This service is provided in the department's own app. You log in there with your Ekdwar account.
service-open-app = Open the department's app
service-in-person = This service is provided in person only.
service-eligibility = Who can apply
service-documents = Documents to bring
service-document-if-applicable = if it applies to you
service-document-any-of = Any one of:
service-fees = Fees
service-fee = Fee
service-fee-amount = Amount
service-fee-when = When paid
service-fee-online = Online, before booking an appointment
service-fee-at-centre = At the centre
service-processing = How long it takes
service-days = { $days ->
    [one] 1 working day
   *[other] { $days } working days
}
service-days-range = { $min } to { $max } working days
service-faq = Questions
service-help = Help
service-help-phone = Helpdesk:
service-help-email = E-mail:
