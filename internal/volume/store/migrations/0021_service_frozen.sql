-- A frozen volume service (os-services/freeze) takes no new volumes and
-- refuses deletes and snapshots until thawed.
ALTER TABLE services ADD COLUMN frozen BOOLEAN NOT NULL DEFAULT FALSE;
