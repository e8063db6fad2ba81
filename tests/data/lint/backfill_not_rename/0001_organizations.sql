ALTER TABLE "project" ADD COLUMN "organizationId" text;
--> statement-breakpoint
UPDATE "project" SET "organizationId" = (SELECT "id" FROM "organization" WHERE "organization"."owner_id" = "project"."userId" LIMIT 1);
--> statement-breakpoint
ALTER TABLE "project" ALTER COLUMN "organizationId" SET NOT NULL;
--> statement-breakpoint
ALTER TABLE "project" DROP COLUMN "userId";
--> statement-breakpoint
ALTER TABLE "project" DROP COLUMN "archived";
--> statement-breakpoint
ALTER TABLE "project" ADD COLUMN "description" text;
