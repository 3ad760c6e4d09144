CREATE TABLE counters (
    id {{SERIAL}},
    widget_id VARCHAR(64) NOT NULL REFERENCES widgets (id) ON DELETE CASCADE,
    n INTEGER NOT NULL
);
