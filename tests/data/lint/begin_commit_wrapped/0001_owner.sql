-- Give every document its owner, in a transaction of its own

BEGIN;--> statement-breakpoint

ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "owner" text;--> statement-breakpoint

-- copy the owner over from the folder
UPDATE "documents" AS d
SET "owner" = f."owner"
  FROM "folders" AS f
WHERE d."folder_id" = f."id";--> statement-breakpoint

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM "documents" WHERE "owner" IS NULL) THEN
    RAISE EXCEPTION 'documents without an owner';
  END IF;
END $$;--> statement-breakpoint

ALTER TABLE "documents" ALTER COLUMN "owner" SET NOT NULL;--> statement-breakpoint

COMMIT;--> statement-breakpoint
