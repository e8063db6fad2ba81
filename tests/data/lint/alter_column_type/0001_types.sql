ALTER TABLE "users" ALTER COLUMN "name" SET DATA TYPE varchar(64);
--> statement-breakpoint
ALTER TABLE users ALTER email TYPE citext USING email::citext;
--> statement-breakpoint
CREATE TABLE "fresh" ("id" integer, "v" text);
--> statement-breakpoint
ALTER TABLE "fresh" ALTER COLUMN "v" SET DATA TYPE integer USING v::integer;