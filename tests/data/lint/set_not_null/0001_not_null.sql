CREATE TABLE "fresh" ("id" integer, "v" text);
--> statement-breakpoint
ALTER TABLE "fresh" ALTER COLUMN "v" SET NOT NULL;
--> statement-breakpoint
UPDATE "users" SET "name" = '' WHERE "name" IS NULL;
--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL;