CREATE TYPE "public"."integration_type" AS ENUM('github', 'gitlab');
--> statement-breakpoint
CREATE TABLE "integration" (
	"id" serial PRIMARY KEY NOT NULL,
	"type" "integration_type" NOT NULL,
	"token" text
);
