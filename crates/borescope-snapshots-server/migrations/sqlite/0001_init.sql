-- The live-snapshot store, SQLite dialect (see ../postgres for the same schema there).
-- Times are Unix milliseconds; flags are 0/1 integers; lists are JSON text.

CREATE TABLE services (
    name TEXT PRIMARY KEY,
    -- Bumped whenever the service's probe set changes; agents long-poll on it.
    version INTEGER NOT NULL
);

CREATE TABLE probes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    env TEXT,
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    condition TEXT,
    captures TEXT NOT NULL,
    log TEXT,
    max_hits INTEGER,
    rate REAL NOT NULL,
    frames_with_locals INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    done INTEGER NOT NULL,
    hits INTEGER NOT NULL
);
CREATE INDEX probes_by_service ON probes (service, id);

CREATE TABLE instances (
    instance_id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    env TEXT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    python TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    engine TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    gone INTEGER NOT NULL,
    dropped INTEGER NOT NULL
);
CREATE INDEX instances_by_service ON instances (service, last_seen_ms);

CREATE TABLE statuses (
    probe_id INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    hits INTEGER NOT NULL,
    rate_limited INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (probe_id, instance_id)
);

CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    probe_id INTEGER NOT NULL,
    service TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX snapshots_by_probe ON snapshots (probe_id, id);
CREATE INDEX snapshots_by_service ON snapshots (service, id);
CREATE INDEX snapshots_by_received ON snapshots (received_ms);

CREATE TABLE agent_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
