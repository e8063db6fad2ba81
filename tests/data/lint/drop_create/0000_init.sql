CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text,
	"age" integer,
	"flag" boolean
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" serial PRIMARY KEY NOT NULL,
	"total" numeric
);
--> statement-breakpoint
CREATE TABLE "logs" ("id" serial PRIMARY KEY NOT NULL, "line" text);
