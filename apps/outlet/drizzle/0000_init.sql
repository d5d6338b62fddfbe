CREATE TABLE `credentials` (
	`key_id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`secret_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE TABLE `cursors` (
	`name` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`ts` integer NOT NULL,
	`type` text NOT NULL,
	`actor` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	`payload` text NOT NULL,
	`sku` text
);
--> statement-breakpoint
CREATE INDEX `events_sku` ON `events` (`sku`,`seq`);--> statement-breakpoint
CREATE INDEX `events_actor` ON `events` (`actor`,`seq`);--> statement-breakpoint
CREATE INDEX `events_ts` ON `events` (`ts`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`account_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer NOT NULL,
	`response` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `snapshots` (
	`seq` integer PRIMARY KEY NOT NULL,
	`ts` integer NOT NULL,
	`digest` text NOT NULL,
	`state` text NOT NULL
);
