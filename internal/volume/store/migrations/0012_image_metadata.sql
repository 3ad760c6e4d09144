-- A volume's image metadata (Cinder's volume_glance_metadata): what a
-- volume made from an image records of it (image_id, image_name,
-- disk_format, ... and the image's properties), copied to volumes and
-- snapshots made from it, and shown as volume_image_metadata.
CREATE TABLE volume_image_metadata (
    volume_id VARCHAR(36) NOT NULL,
    meta_key VARCHAR(255) NOT NULL,
    meta_value {{TEXT}} NOT NULL,
    PRIMARY KEY (volume_id, meta_key)
);
