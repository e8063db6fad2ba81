CREATE TABLE b (id int);
--> statement-breakpoint