ALTER TYPE "public"."integration_type" ADD VALUE 'managed_oauth';
--> statement-breakpoint
DELETE FROM "integration" WHERE "type"::text <> 'managed_oauth' AND "token" IS NULL;
--> statement-breakpoint
UPDATE "integration" SET "token" = 'managed_oauth' WHERE "type"::text = 'github';
