CREATE TABLE "project" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text
);
