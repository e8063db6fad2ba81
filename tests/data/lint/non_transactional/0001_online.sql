CREATE INDEX CONCURRENTLY "users_email_idx" ON "users" USING btree ("email");
--> statement-breakpoint
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "posts_title_idx" ON "posts" ("title");
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "old_idx";
--> statement-breakpoint
REINDEX TABLE "users";
REINDEX INDEX CONCURRENTLY "users_email_idx";
REINDEX SCHEMA public;
--> statement-breakpoint
VACUUM (ANALYZE) "users";
--> statement-breakpoint
CREATE DATABASE "reports";
--> statement-breakpoint
ALTER SYSTEM SET work_mem = '64MB';
--> statement-breakpoint
ALTER TABLE "events" DETACH PARTITION "events_2020" CONCURRENTLY;
--> statement-breakpoint
CREATE INDEX "posts_id_idx" ON "posts" ("id");