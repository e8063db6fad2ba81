\set ON_ERROR_STOP on
DROP TABLE "old_logs";
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "email" text;
