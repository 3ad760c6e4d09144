-- The snapshot a backup was taken from (POST /backups with snapshot_id).
ALTER TABLE backups ADD COLUMN snapshot_id VARCHAR(36);
