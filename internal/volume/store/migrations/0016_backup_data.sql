-- The repository directory holding a backup's data: its own id, or, for a
-- backup imported from an exported record under another id, the id of the
-- backup that wrote the data.
ALTER TABLE backups ADD COLUMN data_id VARCHAR(36);
