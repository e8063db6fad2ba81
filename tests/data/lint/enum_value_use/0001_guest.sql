ALTER TYPE "public"."user_role" ADD VALUE 'guest' BEFORE 'member';--> statement-breakpoint
INSERT INTO "notes" ("body") VALUES ('guest');
--> statement-breakpoint
SELECT 'guest'::text FROM "users";
--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "role" SET DEFAULT 'guest';