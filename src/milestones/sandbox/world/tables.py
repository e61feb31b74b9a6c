"""The tables the world generator draws from: journeys, names, categories, activity shapes.

Categorical values are in the world's neutral vocabulary (HubSpot's codes; see
``records``). ``ONE_WAY`` touches never count as the person answering; ``TWO_WAY`` ones do.
"""

from milestones.sandbox.world.records import CALL_DISPOSITIONS as DISPO

JOURNEYS = ("target", "prospect", "opportunity", "client", "advocate")
JOURNEY_WEIGHTS = (0.50, 0.22, 0.13, 0.10, 0.05)
ACTIVITY_MEAN = {"target": 3.0, "prospect": 5.5, "opportunity": 7.0, "client": 8.0, "advocate": 10}

# fmt: off
FIRST = (
    'Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy',
    'Mallory', 'Niaj', 'Olivia', 'Peggy', 'Rupert', 'Sybil', 'Trent', 'Victor', 'Walter',
    'Yara', 'Zoë', 'José', 'Łukasz', 'Søren', 'Ólafur', 'Chloé', 'Renée', 'François',
    'Björn', 'Anaïs', 'Małgorzata', 'Dương', '李娜', 'さくら', 'Jean-Luc', 'Ana María',
)
LAST = (
    'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies',
    'Robinson', 'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green',
    'Hall', 'Wood', 'Jackson', 'Clarke', 'Müller', "O'Brien", 'Nguyễn', 'Øster', 'García',
    'Kowalczyk', '王', 'Ἀθηνᾶ', 'Dubois', 'van der Berg',
)
# fmt: on
FIRST_ASCII = [n for n in FIRST if n.isascii()]
INDUSTRIES = ("SOFTWARE", "RETAIL", "HEALTHCARE", "FINANCE", "MANUFACTURING", None)
SOURCES = ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS",
           "DIRECT_TRAFFIC", "OFFLINE")  # fmt: skip
PRODUCTS = ("Platform", "Starter plan", "Enterprise licence", "Support add-on", "Onboarding")
TARGET_STATUS = ("NEW", "ATTEMPTED_TO_CONTACT", "OPEN", None)
PROSPECT_STATUS = ("CONNECTED", "IN_PROGRESS", "OPEN_DEAL", "BAD_TIMING")
LIFECYCLE = {
    "target": "lead",
    "prospect": "salesqualifiedlead",
    "opportunity": "opportunity",
    "client": "customer",
    "advocate": "evangelist",
}
OPEN_EARLY = ("appointmentscheduled", "qualifiedtobuy")
OPEN_LATE = ("presentationscheduled", "decisionmakerboughtin", "contractsent")
RENEWAL_STAGES = ("1038553760", "1038553761", "1038553762", "1038553763", "1038553764")

# Outbound-only touches: (kind, direction, status, disposition, subject).
ONE_WAY = (
    ("email", "EMAIL", "SENT", None, "Quick question"),
    ("email", "EMAIL", "SENT", None, "Following up"),
    ("email", "EMAIL", "BOUNCED", None, "Introduction"),
    ("email", "FORWARDED_EMAIL", "SENT", None, "Fwd: pricing"),
    ("call", "OUTBOUND", "NO_ANSWER", DISPO["NO_ANSWER"], "Cold call"),
    ("call", "OUTBOUND", "BUSY", DISPO["BUSY"], "Cold call"),
    ("call", "OUTBOUND", "FAILED", DISPO["WRONG_NUMBER"], "Cold call"),
    ("call", "OUTBOUND", "COMPLETED", DISPO["LEFT_VOICEMAIL"], "Left a voicemail"),
    ("call", "INBOUND", "NO_ANSWER", None, "Missed call"),
    ("meeting", None, "SCHEDULED", None, "Intro meeting"),
    ("meeting", None, "NO_SHOW", None, "Intro meeting"),
    ("meeting", None, "CANCELED", None, "Demo"),
    ("meeting", None, "RESCHEDULED", None, "Demo"),
    ("note", None, None, None, "Researched the account"),
    ("task", None, "NOT_STARTED", None, "Send case study"),
    ("task", None, "COMPLETED", None, "Look up on LinkedIn"),
)
# Two-way contact: the person answered.
TWO_WAY = (
    ("email", "INCOMING_EMAIL", "SENT", None, "Re: Quick question"),
    ("call", "INBOUND", "COMPLETED", DISPO["CONNECTED"], "They called back"),
    ("call", "OUTBOUND", "COMPLETED", DISPO["CONNECTED"], "Discovery call"),
    ("meeting", None, "COMPLETED", None, "Discovery meeting"),
)
DURATION = {"call": 240_000, "meeting": 1_800_000}
