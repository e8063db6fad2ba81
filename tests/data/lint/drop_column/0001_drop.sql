ALTER TABLE "users" DROP CONSTRAINT "users_email_unique";
--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "name" DROP DEFAULT;
--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "name";
--> statement-breakpoint
ALTER TABLE ONLY posts
  ADD COLUMN views integer,
  DROP title CASCADE;