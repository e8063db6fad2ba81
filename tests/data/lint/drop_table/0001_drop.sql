CREATE TABLE "scratch" ("id" integer);
--> statement-breakpoint
DROP TABLE "scratch";
--> statement-breakpoint
DROP TABLE IF EXISTS "posts", "public"."users" CASCADE;