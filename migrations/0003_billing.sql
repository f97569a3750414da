CREATE TABLE `billing_outbox` (
	`identifier` text PRIMARY KEY NOT NULL,
	`customer_id` text NOT NULL,
	`meter` text NOT NULL,
	`bucket_start` integer NOT NULL,
	`bucket_end` integer NOT NULL,
	`seq` integer NOT NULL,
	`kind` text NOT NULL,
	`value` integer NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`first_attempt_at` integer,
	`event_at` integer,
	`channel` text,
	`next_attempt_at` integer,
	`last_error` text,
	`delivered_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `billing_outbox_bucket_seq_idx` ON `billing_outbox` (`customer_id`,`meter`,`bucket_start`,`seq`);--> statement-breakpoint
CREATE INDEX `billing_outbox_status_idx` ON `billing_outbox` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `billing_meters` (
	`meter` text PRIMARY KEY NOT NULL,
	`event_name` text NOT NULL,
	`stripe_meter_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `billing_state` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `billing_customer_state` (
	`customer_id` text PRIMARY KEY NOT NULL,
	`subscription_id` text,
	`subscription_status` text,
	`subscription_event_at` integer,
	`payment_failed_at` integer,
	`suspended_reason` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `billing_webhook_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`created_at` integer NOT NULL,
	`received_at` integer NOT NULL
);
