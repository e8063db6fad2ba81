CREATE TABLE "t" (
	"id" serial PRIMARY KEY NOT NULL,
	"x" text,
	"y" text,
	"z" varchar(20)
);
