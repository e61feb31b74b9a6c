"""How the neutral world's vocabulary reads in Salesforce.

The world stores HubSpot's codes (see ``world.store``); a Salesforce org has its own picklists.
These tables translate, in both directions where Salesforce can write the value back.

Opportunity stages follow a typical org: the sales pipeline uses Salesforce's default
stage names (reference/salesforce-api.md, section 3) and the renewals pipeline custom
stages, all in one global OpportunityStage list as Salesforce has it. Probabilities are
the world's, so "open stage with probability >= threshold" means the same on both
flavours. ``At Risk`` is mapped by no configuration on purpose, like the HubSpot stage.

Semantic choices that keep both flavours deriving the same milestones from one world:

* Calls: only HubSpot ``COMPLETED`` calls are ``Status = Completed``; missed, busy or
  failed calls are ``Deferred`` so a missed inbound call is no conversation. Dispositions
  become Salesforce's free-text ``CallDisposition`` labels.
* Meetings: only meetings that happened (``COMPLETED``) or are still ahead of the
  world's anchor (``SCHEDULED``) are Events; no-shows, cancellations, reschedules and
  past meetings never marked held were removed from the calendar, so they are served as
  deleted Events (visible through queryAll only).
* Lead status shows on unconverted Leads; converted Leads read ``Closed - Converted``.
"""

from __future__ import annotations

# world stage id -> Salesforce StageName (= OpportunityStage.ApiName and MasterLabel)
STAGE_NAMES: dict[str, str] = {
    "appointmentscheduled": "Prospecting",
    "qualifiedtobuy": "Qualification",
    "presentationscheduled": "Value Proposition",
    "decisionmakerboughtin": "Id. Decision Makers",
    "contractsent": "Negotiation/Review",
    "closedwon": "Closed Won",
    "closedlost": "Closed Lost",
    "1038553760": "Renewal Due",
    "1038553761": "Renewal Negotiation",
    "1038553762": "At Risk",
    "1038553763": "Renewed",
    "1038553764": "Churned",
}
STAGE_IDS = {name.casefold(): stage for stage, name in STAGE_NAMES.items()}

LEAD_STATUSES = (  # (ApiName, IsConverted, IsDefault)
    ("Open - Not Contacted", False, True),
    ("Working - Contacted", False, False),
    ("Closed - Converted", True, False),
    ("Closed - Not Converted", False, False),
)
_LEAD_STATUS = {
    None: "Open - Not Contacted",
    "NEW": "Open - Not Contacted",
    "OPEN": "Open - Not Contacted",
    "ATTEMPTED_TO_CONTACT": "Working - Contacted",
    "IN_PROGRESS": "Working - Contacted",
    "CONNECTED": "Working - Contacted",
    "OPEN_DEAL": "Working - Contacted",
    "BAD_TIMING": "Working - Contacted",
    "UNQUALIFIED": "Closed - Not Converted",
}
_LEAD_STATUS_BACK = {
    "Open - Not Contacted": "OPEN",
    "Working - Contacted": "IN_PROGRESS",
    "Closed - Not Converted": "UNQUALIFIED",
}

LEAD_SOURCES = (
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "External Referral",
    "Advertisement",
    "Email",
    "Social",
    "Trade Show",
    "Purchased List",
    "Other",
)
_LEAD_SOURCE = {
    "ORGANIC_SEARCH": "Web",
    "DIRECT_TRAFFIC": "Web",
    "PAID_SEARCH": "Advertisement",
    "PAID_SOCIAL": "Advertisement",
    "EMAIL_MARKETING": "Email",
    "SOCIAL_MEDIA": "Social",
    "REFERRALS": "External Referral",
    "OFFLINE": "Trade Show",
    "OTHER_CAMPAIGNS": "Other",
}

# HubSpot disposition GUIDs (world.records.CALL_DISPOSITIONS) -> CallDisposition text
_DISPOSITIONS = {
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
}
_CALL_STATUS = {"COMPLETED": "Completed", "QUEUED": "Not Started", "RINGING": "Not Started"}
TASK_PRIORITIES = ("High", "Normal", "Low")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
_TASK_STATUS = {
    "NOT_STARTED": "Not Started",
    "IN_PROGRESS": "In Progress",
    "COMPLETED": "Completed",
    "WAITING": "Waiting on someone else",
    "DEFERRED": "Deferred",
}
_EMAIL_STATUS = {"EMAIL": "3", "FORWARDED_EMAIL": "4", "INCOMING_EMAIL": "1"}
MEETINGS_HELD = frozenset({"COMPLETED"})


def stage_name(stage_id: str | None) -> str | None:
    return None if stage_id is None else STAGE_NAMES.get(stage_id, stage_id)


def lead_status(code: str | None, converted: bool) -> str:
    if converted:
        return "Closed - Converted"
    return _LEAD_STATUS.get(code, "Working - Contacted")


def lead_status_code(status: str) -> str | None:
    """The world code a Lead Status written through the API stands for."""
    return _LEAD_STATUS_BACK.get(status)


def lead_source(code: str | None) -> str | None:
    return None if code is None else _LEAD_SOURCE.get(code, "Other")


def call_disposition(guid: str | None) -> str | None:
    return None if guid is None else _DISPOSITIONS.get(guid, guid)


def call_status(status: str | None) -> str:
    return _CALL_STATUS.get(status or "", "Deferred")


def task_status(status: str | None) -> str:
    return _TASK_STATUS.get(status or "", "Not Started")


def task_status_code(label: str | None) -> str | None:
    """The world's code for a Task Status label (``Completed`` -> ``COMPLETED``)."""
    return next((code for code, text in _TASK_STATUS.items() if text == label), None)


def email_status(direction: str | None) -> str:
    """EmailMessage.Status: 1 Read (received), 3 Sent, 4 Forwarded."""
    return _EMAIL_STATUS.get(direction or "", "3")


def is_incoming_email(direction: str | None) -> bool:
    return direction == "INCOMING_EMAIL"


def call_type(direction: str | None) -> str | None:
    return {"INBOUND": "Inbound", "OUTBOUND": "Outbound"}.get(direction or "")
