"""Assignment rules, enrolment from them, renewals before expiry and reminders.
(Helper A fills this in; its periodic jobs register on import.)"""
