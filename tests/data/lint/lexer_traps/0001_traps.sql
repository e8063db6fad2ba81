-- DROP TABLE "users"; VACUUM;
/* a /* nested */ DROP TABLE "users"; CREATE INDEX CONCURRENTLY x ON y (z); */
COMMENT ON TABLE "users" IS 'DROP TABLE users; VACUUM; ALTER SYSTEM SET x = 1';
--> statement-breakpoint
DO $$
BEGIN
  EXECUTE 'DROP TABLE posts';
  DROP TABLE "posts";
END
$$;
--> statement-breakpoint
CREATE FUNCTION "f"() RETURNS void LANGUAGE sql AS $body$ VACUUM; $inner$ $$ $body$;
--> statement-breakpoint
SELECT E'it\'s; DROP TABLE "users"; ', 'it''s; VACUUM', "DROP TABLE x" FROM "users";
--> statement-breakpoint
CREATE TABLE "drop table users; vacuum" ("alter system" text, x$y text);
--> statement-breakpoint
CREATE FUNCTION "g"(a int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;
  SELECT a;
END;
--> statement-breakpoint
PREPARE "p" AS SELECT $1 FROM "users";