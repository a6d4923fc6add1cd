"""The journal's tables. One SQLite file per campaign: ``<state>/<name>.sqlite3``.

Invariants the schema itself enforces:
- one row per contact number (``contacts.phone`` is unique);
- at most one open call per contact (a partial unique index on ``calls``), so a
  second dial of a contact whose call may still exist cannot even be recorded;
- a call SID belongs to one call (``calls.sid`` is unique).
Times are Unix epoch seconds (REAL, UTC) from the injected wall clock.
"""

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    started_at  REAL NOT NULL,
    ended_at    REAL,
    sha256      TEXT NOT NULL,
    version     TEXT NOT NULL,
    sandbox     INTEGER NOT NULL DEFAULT 0,
    exit_reason TEXT
);

CREATE TABLE IF NOT EXISTS contacts (
    id             INTEGER PRIMARY KEY,
    phone          TEXT NOT NULL UNIQUE,       -- E.164: the contact's identity
    raw_phone      TEXT NOT NULL,
    source         TEXT NOT NULL,              -- file:line it came from
    variables      TEXT NOT NULL,              -- JSON object
    seq            INTEGER NOT NULL,           -- order in the campaign file
    state          TEXT NOT NULL,              -- ready | active | done
    outcome        TEXT,                       -- set when done
    reason         TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0, -- calls that spent the contact's budget
    agent_failures INTEGER NOT NULL DEFAULT 0,
    next_at        REAL NOT NULL DEFAULT 0,    -- not dialed before this (0: new)
    in_file        INTEGER NOT NULL DEFAULT 1, -- 0 once removed from the campaign file
    screened       INTEGER NOT NULL DEFAULT 0, -- DND screening done (may be dialed)
    updated_at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_queue ON contacts (state, next_at, seq);
CREATE INDEX IF NOT EXISTS contacts_screening ON contacts (screened, state, seq);

CREATE TABLE IF NOT EXISTS calls (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER NOT NULL REFERENCES contacts (id),
    attempt         INTEGER NOT NULL,          -- 1-based call number for this contact
    state           TEXT NOT NULL,             -- intent | placed | ambiguous | ended | not_placed
    open            INTEGER NOT NULL,          -- 1 while intent, placed or ambiguous
    sid             TEXT UNIQUE,
    api             TEXT NOT NULL,
    caller_id       TEXT NOT NULL,
    agent           TEXT,
    request         TEXT NOT NULL,             -- the compiled CallSpec as JSON (no credentials)
    intent_at       REAL NOT NULL,
    placed_at       REAL,
    started_at      REAL,
    ended_at        REAL,
    resolved_at     REAL,
    resolved_by     TEXT,                      -- callback | poll | reconcile | give_up | connect
    exotel_status   TEXT,
    outcome         TEXT,
    reason          TEXT,
    answered        INTEGER NOT NULL DEFAULT 0,
    talk_time       INTEGER,
    recording_url   TEXT,
    record_complete INTEGER NOT NULL DEFAULT 0,
    adopted         INTEGER NOT NULL DEFAULT 0, -- found by reconciliation after a lost answer
    error_status    INTEGER,
    error_code      TEXT,
    error_message   TEXT,
    polls           INTEGER NOT NULL DEFAULT 0,
    last_poll_at    REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_call_per_contact ON calls (contact_id) WHERE open = 1;
CREATE INDEX IF NOT EXISTS calls_contact ON calls (contact_id);

CREATE TABLE IF NOT EXISTS events (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    sid      TEXT,
    call_id  INTEGER,
    source   TEXT NOT NULL,                    -- callback | bulk | details | connect | reconcile
    event    TEXT NOT NULL,                    -- answered | terminal | status
    status   TEXT,
    effect   TEXT NOT NULL,                    -- applied | duplicate | stale | unmatched | early
    payload  TEXT NOT NULL                     -- the parsed body, JSON
);
CREATE INDEX IF NOT EXISTS events_unmatched ON events (sid) WHERE call_id IS NULL;

CREATE TABLE IF NOT EXISTS requests (
    id      INTEGER PRIMARY KEY,
    at      REAL NOT NULL,
    purpose TEXT NOT NULL,                     -- connect | poll | reconcile | lookup | health
    status  INTEGER NOT NULL,                  -- HTTP status; 0 when nothing answered
    code    TEXT
);

CREATE TABLE IF NOT EXISTS skipped_rows (
    id        INTEGER PRIMARY KEY,
    source    TEXT NOT NULL UNIQUE,
    raw_phone TEXT NOT NULL,
    reason    TEXT NOT NULL,                   -- invalid | duplicate
    message   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS run_log (
    id      INTEGER PRIMARY KEY,
    at      REAL NOT NULL,
    kind    TEXT NOT NULL,                     -- run_started | waiting | paused | ...
    message TEXT NOT NULL,
    data    TEXT NOT NULL DEFAULT '{}'
);
"""
