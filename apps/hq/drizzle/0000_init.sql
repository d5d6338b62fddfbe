CREATE TABLE `api_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`secret_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE TABLE `divergences` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`outlet_id` text NOT NULL,
	`seq` integer NOT NULL,
	`kind` text NOT NULL,
	`detail` text NOT NULL,
	`skus` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `divergences_outlet` ON `divergences` (`outlet_id`,`id`);--> statement-breakpoint
CREATE TABLE `executions` (
	`outlet_id` text NOT NULL,
	`exec_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`ts` integer NOT NULL,
	`sku` text NOT NULL,
	`price` integer NOT NULL,
	`quantity` integer NOT NULL,
	`inflow_order_id` integer NOT NULL,
	`inflow_account_id` text NOT NULL,
	`outflow_order_id` integer,
	`outflow_account_id` text NOT NULL,
	`hold_id` text,
	`aggressor` text NOT NULL,
	`trade_seq` integer NOT NULL,
	PRIMARY KEY(`outlet_id`, `exec_id`)
);
--> statement-breakpoint
CREATE INDEX `executions_sku_trade` ON `executions` (`sku`,`trade_seq`);--> statement-breakpoint
CREATE INDEX `executions_ts` ON `executions` (`ts`);--> statement-breakpoint
CREATE INDEX `executions_inflow_order` ON `executions` (`inflow_order_id`);--> statement-breakpoint
CREATE INDEX `executions_outflow_order` ON `executions` (`outflow_order_id`);--> statement-breakpoint
CREATE TABLE `md_sequences` (
	`stream` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `orders` (
	`outlet_id` text NOT NULL,
	`order_id` integer NOT NULL,
	`account_id` text NOT NULL,
	`sku` text NOT NULL,
	`side` text NOT NULL,
	`price` integer NOT NULL,
	`quantity` integer NOT NULL,
	`filled` integer NOT NULL,
	`remaining` integer NOT NULL,
	`status` text NOT NULL,
	`cancel_reason` text,
	`time_in_force` text NOT NULL,
	`reason` text NOT NULL,
	`reference` text,
	`created_seq` integer NOT NULL,
	`created_ts` integer NOT NULL,
	`updated_seq` integer NOT NULL,
	`updated_ts` integer NOT NULL,
	PRIMARY KEY(`outlet_id`, `order_id`)
);
--> statement-breakpoint
CREATE INDEX `orders_sku_created` ON `orders` (`sku`,`created_ts`);--> statement-breakpoint
CREATE INDEX `orders_created` ON `orders` (`created_ts`);--> statement-breakpoint
CREATE TABLE `outlets` (
	`outlet_id` text PRIMARY KEY NOT NULL,
	`applied_seq` integer NOT NULL,
	`applied_hash` text NOT NULL,
	`applied_ts` integer NOT NULL,
	`first_stream_seq` integer NOT NULL,
	`last_stream_seq` integer NOT NULL,
	`halt_reason` text,
	`halt_detail` text,
	`halted_at` integer,
	`checkpoint_seq` integer,
	`checkpoint_ts` integer,
	`checkpoint_ok` integer,
	`diverged_skus` text NOT NULL,
	`verified_seq` integer,
	`diverged_since` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `replicas` (
	`outlet_id` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`stream_seq` integer NOT NULL,
	`engine` text NOT NULL,
	`market_data` text NOT NULL,
	`taken_at` integer NOT NULL
);
