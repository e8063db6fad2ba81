ALTER TABLE "t" ADD COLUMN "b" integer, ALTER COLUMN "x" SET NOT NULL;
--> statement-breakpoint
ALTER TABLE "public"."t"
  ADD COLUMN "c" text DEFAULT 'a,b',
  ADD COLUMN "d" integer[] DEFAULT ARRAY[1, 2],
  ALTER COLUMN "y" SET DATA TYPE integer USING ("y"::integer), /* a, b */
  ALTER COLUMN "z" TYPE text,
  ALTER COLUMN "x" SET NOT NULL;
--> statement-breakpoint
ALTER TABLE "t" ALTER COLUMN "y" SET NOT NULL;
