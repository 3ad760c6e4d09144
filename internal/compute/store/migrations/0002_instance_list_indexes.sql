-- Server lists sort by created_at, id (descending by default) and page with
-- LIMIT: with an index in that order the engine reads one page of rows
-- instead of sorting every live instance of the project (or, for admins
-- listing all projects, every live instance) per request.
CREATE INDEX instances_project_created ON instances (project_id, deleted, created_at, id);
CREATE INDEX instances_created ON instances (deleted, created_at, id);
