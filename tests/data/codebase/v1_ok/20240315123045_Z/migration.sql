SELECT 'Z';
--> statement-breakpoint
