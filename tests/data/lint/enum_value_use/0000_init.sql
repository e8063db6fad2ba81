CREATE TYPE "public"."user_role" AS ENUM('member', 'admin');--> statement-breakpoint
CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"role" "user_role" DEFAULT 'member' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notes" ("id" serial PRIMARY KEY NOT NULL, "body" text);
