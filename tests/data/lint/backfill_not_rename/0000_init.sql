CREATE TABLE "organization" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_id" text
);
--> statement-breakpoint
CREATE TABLE "project" (
	"id" serial PRIMARY KEY NOT NULL,
	"userId" text NOT NULL,
	"archived" boolean,
	"color" varchar(7)
);
