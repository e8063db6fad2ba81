CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL);
--> statement-breakpoint
CREATE TABLE "old_logs" ("id" serial PRIMARY KEY NOT NULL);
