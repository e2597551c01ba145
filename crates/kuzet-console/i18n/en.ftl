# Kuzet console — English.
demo-banner = Demo: the tenants, people and traffic here are invented.
skip-to-content = Skip to content
nav-label = Sections
nav-overview = Overview
nav-alerts = Alerts
nav-incidents = Incidents
nav-account = Account
logout = Log out
error-title = Not possible
error-back = Back to the overview
error-no-page = There is no such page.
login-title = Log in
login-user = User
login-password = Password
login-code-hint = Your password is right. Enter the six-digit code from your authenticator app.
login-code = One-time code
login-code-optional = One-time code (if enrolled)
login-submit = Log in
login-wrong = Wrong user, password or code.
login-wait = Too many failed attempts: wait a little and try again.
login-disabled = This account is disabled.
password-title = Change password
password-forced = Choose your own password before you go on.
password-current = Current password
password-new = New password
password-repeat = New password again
password-submit = Change password
password-mismatch = The two new passwords differ.
mfa-title = Second factor
mfa-enter-secret = Enter this key into your authenticator app, then type the code it shows.
mfa-confirm = Enrol
mfa-why = Your role requires a one-time code at every login. Begin to get a key for your authenticator app.
mfa-begin = Begin
overview-title = Overview
service-title = Service
service-rate = Events per second
service-accepted = Events accepted
service-sealed = Events sealed
service-queue = Waiting to be sealed
service-backup-errors = Backup errors
overview-no-tenants = No organization's incidents are yours to see.
alerts-waiting = { $count ->
    [one] { $count } alert waiting
   *[other] { $count } alerts waiting
}
alerts-acknowledged = { $count ->
    [one] { $count } acknowledged
   *[other] { $count } acknowledged
}
incidents-open = { $count ->
    [one] { $count } open incident
   *[other] { $count } open incidents
}
level = Level
clocks-running = { $count ->
    [one] { $count } regulatory clock running
   *[other] { $count } regulatory clocks running
}
clock-obligation = Obligation
clock-due = Due
clock-left = Left
clock-overdue = overdue
clock-done = done
clock-pending = running
clock-due-soon = due soon
tenants-not-shown = { $count ->
    [one] { $count } more organization not shown
   *[other] { $count } more organizations not shown
}
alerts-title = Alert queue
tenant = Organization
status = Status
alert-status-all = all
filter = Show
alerts-done = Alerts changed: { $count }
alerts-none = No alerts here.
select-all = Select all
alert-rule = Rule
alert-level = Severity
alert-hits = Hits
alert-first = First
alert-last = Last
alerts-bulk = With the selected alerts
action = Action
alert-do-acknowledge = Acknowledge
alert-do-false-positive = False positive
alert-do-promote = Open an incident
reason = Reason
incident-title = Title
incident-category = Category
fact-functional-impact = Functional impact
fact-information-impact = Information impact
fact-recoverability = Recoverability
fact-scope = Scope
fact-facility-class = Facility class
incident-facilities = Facilities concerned
facility-class = class
facility-critical = critical infrastructure
fact-stage = Stage
apply = Apply
next-page = Next page
incidents-title = Incidents
incidents-none = No incidents.
incident-detected = Detected
incident-tasks = Plan
tasks-open = { $count ->
    [one] { $count } task open
   *[other] { $count } tasks open
}
level-assessed = assessed
incident-alerts = Alerts
incident-clocks = Regulatory clocks
incident-no-clocks = No clock runs yet: clocks start at confirmation.
incident-plan = Response plan
incident-no-plan = The plan is created at confirmation.
task-done = Done
incident-timeline = Timeline
severity-critical = critical
severity-high = high
severity-medium = medium
severity-low = low
severity-informational = informational
alert-status-new = new
alert-status-acknowledged = acknowledged
alert-status-false-positive = false positive
alert-status-escalated = escalated
obligation-owner-notification = Notify the owner
obligation-nccis-report = Report to NCCIS
obligation-personal-data-notice = Notify the personal-data authority
obligation-contact-change = Tell NCCIS of changed contacts
obligation-quarterly-report = Quarterly incident report
obligation-quarterly-contact-confirmation = Confirm contacts for the quarter
obligation-response-process-review = Review the response process
category-intrusion-attempts-password-guessing = Password guessing or theft
category-intrusion-unauthorized-access = Unauthorized access
category-malicious-code = Malware
category-availability-dos = DoS/DDoS
category-information-gathering-scanning = Scanning
category-intrusion-protection-bypass = Hacking of protection systems
category-information-content-security-leak = Data leak
category-abusive-content-spam = Spam
category-fraud = Fraud
category-other = Other
incident-status-detected = detected
incident-status-confirmed = confirmed
incident-status-false-positive = false positive
incident-status-contained = contained
incident-status-eradicated = eradicated
incident-status-recovered = recovered
incident-status-closed = closed
incident-move-confirmed = Confirm
incident-move-false-positive = False positive
incident-move-contained = Contained
incident-move-eradicated = Eradicated
incident-move-recovered = Recovered
incident-move-closed = Close
nav-search = Search
search-title = Search events
search-query = Query
search-range = Time
range-15m = last 15 minutes
range-1h = last hour
range-24h = last 24 hours
range-7d = last 7 days
range-30d = last 30 days
range-custom = from … to (Kazakhstan time)
search-from = From
search-to = To
search-submit = Search
search-help = field:value, "phrases", wildcards*, ranges [1 TO 5], 10.0.0.0/8, AND, OR, NOT, (groups); empty for everything.
search-bad-time = The time range is not readable: { $what }.
search-found = { $count ->
    [one] { $count } event
   *[other] { $count } events
}
search-at-most = (at most)
search-by-index = from the index
search-by-scan = archive scanned
search-histogram = Events over time
search-interval = One bar: { $seconds } s
search-fields = Fields
search-sample = { $count ->
    [one] from { $count } event
   *[other] from { $count } events
}
search-nothing = No events match.
event-time = Time
event-message = Message
event-title = Event
event-ingested = Received
event-source = Source
event-original = Original record
event-fields = Fields
event-proof = Seal proof
event-proof-hint = The event's place in the sealed archive: its record in a block, the block in the organization's log, and the signed checkpoint that covers it. Anyone can check it offline.
proof-segment = Segment
proof-block = Block
proof-record = Record
proof-tree-size = Checkpoint covers blocks
proof-download = Download the proof (JSON)
