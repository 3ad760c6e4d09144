-- Quota classes (os-quota-class-sets): the "default" class holds the
-- default quotas of every project, over cinder.conf's.
CREATE TABLE quota_classes (
    class_name VARCHAR(255) NOT NULL,
    resource VARCHAR(255) NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (class_name, resource)
);
