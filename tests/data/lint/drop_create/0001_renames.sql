CREATE TABLE "purchases" (
	"id" serial PRIMARY KEY NOT NULL,
	"total" numeric
);
--> statement-breakpoint
DROP TABLE "orders" CASCADE;
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "full_name" text;
--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "name";
--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "age";
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "age" text;
--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "flag";
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "tags" text[];
--> statement-breakpoint
DROP TABLE "logs";
--> statement-breakpoint
CREATE TABLE "logs" ("id" bigserial PRIMARY KEY NOT NULL, "line" text);