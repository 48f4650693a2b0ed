-- Exception snapshots (issue 12 §3).
-- services.exceptions: 1 when the service's instances take exception snapshots (the row is
-- created by the setting if the service had none yet; changing it bumps version).
-- snapshots.kind: 'probe' or 'exception'. An exception snapshot has no probe: its probe_id is
-- stored as 0 (probe ids start at 1) and read back as null. grp is "type\nfile\nline" of an
-- exception snapshot, so suppressed occurrences the agent reports later find the instance's
-- latest snapshot of the same failure; occurrences is that snapshot's running count.

ALTER TABLE services ADD COLUMN exceptions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE snapshots ADD COLUMN kind TEXT NOT NULL DEFAULT 'probe';
ALTER TABLE snapshots ADD COLUMN grp TEXT;
ALTER TABLE snapshots ADD COLUMN occurrences INTEGER;
CREATE INDEX snapshots_by_kind ON snapshots (kind, service, id);
CREATE INDEX snapshots_by_group ON snapshots (instance_id, grp, id);
