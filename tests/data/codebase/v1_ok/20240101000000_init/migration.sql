CREATE TABLE t (id int);
--> statement-breakpoint
ALTER TABLE t ADD c int;