"""The state file's schema: each migration is one script, applied in order on open.

The version of an open file is SQLite's ``PRAGMA user_version``; a file written by any earlier
release opens and is migrated forward, each step in its own transaction. A change of a stored
JSON layout (``codec``) is a migration too.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the mirror, cursors, dirty sets, ledger, writes and runs.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, email_lc TEXT, ref_key TEXT,
        converted_to TEXT, company_id TEXT, is_deleted INTEGER NOT NULL DEFAULT 0,
        seen INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, crm TEXT, derived TEXT
    );
    CREATE INDEX contacts_email ON contacts(email_lc) WHERE email_lc IS NOT NULL;
    CREATE INDEX contacts_ref ON contacts(ref_key) WHERE ref_key IS NOT NULL;
    CREATE INDEX contacts_converted ON contacts(converted_to) WHERE converted_to IS NOT NULL;
    CREATE TABLE deals (
        id TEXT PRIMARY KEY, ref_key TEXT, is_deleted INTEGER NOT NULL DEFAULT 0,
        seen INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, crm TEXT, derived INTEGER
    );
    CREATE INDEX deals_ref ON deals(ref_key) WHERE ref_key IS NOT NULL;
    CREATE TABLE activities (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, direction TEXT, status TEXT, disposition TEXT,
        occurred_at TEXT, ends_at TEXT, owner_id TEXT, modified_at TEXT, deal_ids TEXT,
        is_deleted INTEGER NOT NULL DEFAULT 0, seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX activities_ends ON activities(ends_at) WHERE kind = 'meeting';
    CREATE TABLE deal_contacts (
        deal_id TEXT NOT NULL, contact_id TEXT NOT NULL, link_id TEXT NOT NULL DEFAULT '',
        seen INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (deal_id, contact_id, link_id)
    ) WITHOUT ROWID;
    CREATE INDEX deal_contacts_contact ON deal_contacts(contact_id);
    CREATE INDEX deal_contacts_link ON deal_contacts(link_id) WHERE link_id != '';
    CREATE TABLE activity_contacts (
        activity_id TEXT NOT NULL, contact_id TEXT NOT NULL,
        PRIMARY KEY (activity_id, contact_id)
    ) WITHOUT ROWID;
    CREATE INDEX activity_contacts_contact ON activity_contacts(contact_id);
    CREATE TABLE stages (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE dirty (contact_id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE dirty_deals (deal_id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE cursors (
        provider TEXT NOT NULL, kind TEXT NOT NULL, lane TEXT NOT NULL,
        committed TEXT, win_since TEXT, win_until TEXT, resume TEXT, pull_id INTEGER,
        is_running INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (provider, kind, lane)
    ) WITHOUT ROWID;
    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY, record_kind TEXT NOT NULL, record_id TEXT NOT NULL,
        from_milestone TEXT, to_milestone TEXT NOT NULL, reached_on TEXT,
        evidence TEXT, run_id INTEGER, recorded_at TEXT NOT NULL,
        UNIQUE (record_kind, record_id, to_milestone)
    );
    CREATE TABLE writes (
        object_kind TEXT NOT NULL, record_id TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '',
        fields TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0, is_retryable INTEGER NOT NULL DEFAULT 1,
        code TEXT, message TEXT, run_id INTEGER, updated_at TEXT,
        PRIMARY KEY (object_kind, record_id)
    ) WITHOUT ROWID;
    CREATE INDEX writes_order ON writes(object_kind, grp, record_id);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY, command TEXT NOT NULL, provider TEXT,
        started_at TEXT NOT NULL, finished_at TEXT, records_read INTEGER DEFAULT 0,
        changed INTEGER DEFAULT 0, written INTEGER DEFAULT 0, failed INTEGER DEFAULT 0,
        api_calls INTEGER DEFAULT 0, duration REAL, outcome TEXT, detail TEXT
    );
    """,
    # 2: a write the CRM's own validation rule refused keeps the field the rule names
    # (status 'refused': not sent again until the record or the rules change), and every
    # planned write the record's modified time it was planned from.
    """
    ALTER TABLE writes ADD COLUMN field TEXT;
    ALTER TABLE writes ADD COLUMN record_modified TEXT;
    """,
    # 3: privacy. Email addresses kept only to match are keyed hashes (``privacy.py``; the
    # existing plain ones are hashed in Python right after this script), and people forgotten
    # on request are kept out of the mirror by a keyed hash of their id.
    """
    ALTER TABLE contacts RENAME COLUMN email_lc TO email_key;
    CREATE TABLE forgotten (id_key TEXT PRIMARY KEY, forgotten_at TEXT NOT NULL) WITHOUT ROWID;
    """,
    # 4: reserved for another change of this release (kept in its place when merged).
    "",
    # 5: accounts. Each person's account (a CRM company or a domain group) with the values the
    # roll-up reads, the accounts' derived values and the CRM values we wrote, and the people
    # whose account must be derived again.
    """
    CREATE TABLE account_members (
        person_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, milestone INTEGER NOT NULL,
        reached_on TEXT, is_advocate INTEGER NOT NULL DEFAULT 0, owner_id TEXT
    );
    CREATE INDEX account_members_account ON account_members(account_id);
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY, is_crm INTEGER NOT NULL, derived TEXT, crm TEXT
    );
    CREATE TABLE dirty_account_people (person_id TEXT PRIMARY KEY);
    """,
)
