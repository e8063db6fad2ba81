CREATE TABLE "post" (
	"id" integer PRIMARY KEY NOT NULL,
	"title" varchar(64),
	"slug" varchar(20),
	"price" numeric(10, 2),
	"views" integer,
	"body" text
);
