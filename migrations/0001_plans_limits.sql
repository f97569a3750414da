CREATE TABLE `credit_grants` (
	`id` text PRIMARY KEY NOT NULL,
	`customer_id` text NOT NULL,
	`amount_micros` integer NOT NULL,
	`reason` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `credit_grants_customer_idx` ON `credit_grants` (`customer_id`);--> statement-breakpoint
CREATE TABLE `alert_events` (
	`id` text PRIMARY KEY NOT NULL,
	`customer_id` text NOT NULL,
	`kind` text NOT NULL,
	`threshold_percent` integer NOT NULL,
	`period_start` integer NOT NULL,
	`payload` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_events_once_idx` ON `alert_events` (`customer_id`,`kind`,`threshold_percent`,`period_start`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`url` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`last_status` integer,
	`last_error` text,
	`delivered_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due_idx` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
ALTER TABLE `customers` ADD `webhook_url` text;--> statement-breakpoint
ALTER TABLE `customers` ADD `webhook_secret` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `limit_overrides` text;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cost_micros` integer DEFAULT 0 NOT NULL;