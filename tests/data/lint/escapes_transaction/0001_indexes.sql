ALTER TABLE "project" ADD COLUMN "slug" text;
--> statement-breakpoint
COMMIT;
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "project_slug_idx" ON "project" ("slug");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY "project_name_idx" ON "project" ("name");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY "a_idx" ON "project" ("id"); CREATE INDEX CONCURRENTLY "b_idx" ON "project" ("name");
