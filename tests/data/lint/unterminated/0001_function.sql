CREATE FUNCTION "bump"() RETURNS integer AS $$
BEGIN
--> statement-breakpoint
  RETURN 1;
END $$ LANGUAGE plpgsql;
--> statement-breakpoint
INSERT INTO "users" ("email") VALUES ('oops);
