-- The source lines around each probe's line, as the first instance that found the file
-- reported them (for the web page). One row per probe; deleted with the probe.
CREATE TABLE probe_sources (
    probe_id BIGINT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    path TEXT NOT NULL,
    first_line BIGINT NOT NULL,
    -- JSON list of strings.
    lines TEXT NOT NULL,
    reported_ms BIGINT NOT NULL
);
