ALTER TABLE "post" ALTER COLUMN "title" SET DATA TYPE text;
--> statement-breakpoint
ALTER TABLE "post" ALTER COLUMN "slug" SET DATA TYPE varchar(128);
--> statement-breakpoint
ALTER TABLE "post" ALTER COLUMN "price" SET DATA TYPE numeric(12, 2);
--> statement-breakpoint
ALTER TABLE "post" ALTER COLUMN "views" SET DATA TYPE bigint;
--> statement-breakpoint
ALTER TABLE "post" ALTER COLUMN "body" SET DATA TYPE varchar(255);
