CREATE TYPE "public"."status" AS ENUM('draft', 'done');--> statement-breakpoint
CREATE TABLE "tasks" ("id" serial PRIMARY KEY NOT NULL, "status" "status" DEFAULT 'draft' NOT NULL);