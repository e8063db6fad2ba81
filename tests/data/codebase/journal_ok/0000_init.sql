CREATE TABLE "a" (
	"id" serial PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE INDEX "a_idx" ON "a" ("id");