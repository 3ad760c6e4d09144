CREATE TABLE counters (
    id {{SERIAL}},
    widget_id VARCHAR(64) NOT NULL,
    n INTEGER NOT NULL,
    FOREIGN KEY (widget_id) REFERENCES widgets (id) ON DELETE CASCADE
) ENGINE=InnoDB;
