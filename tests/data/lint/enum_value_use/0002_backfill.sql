CREATE TYPE "public"."visitor_kind" AS ENUM('guest', 'bot');--> statement-breakpoint
COMMENT ON TYPE "user_role" IS 'guest';
--> statement-breakpoint
UPDATE "users"
   SET "role" = 'guest'
 WHERE "id" > 100;