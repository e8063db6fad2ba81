CREATE TABLE "folders" ("id" text PRIMARY KEY NOT NULL, "owner" text NOT NULL);--> statement-breakpoint
CREATE TABLE "documents" ("id" text PRIMARY KEY NOT NULL, "folder_id" text NOT NULL);
