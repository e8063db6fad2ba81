CREATE INDEX CONCURRENTLY "project_id_name_idx" ON "project" ("id", "name");
