-- One row per group of events instead of one per event (see event_groups in src/storage/schema.ts),
-- and the audit index built after commit. Existing events move over unchanged: each run of
-- consecutive seqs sharing a ts becomes groups of at most 4096 events, each payload byte for byte as
-- hashed; the index is filled from the old columns and its cursor set to the last seq.
CREATE TABLE `event_groups` (
	`first_seq` integer PRIMARY KEY NOT NULL,
	`last_seq` integer NOT NULL,
	`ts` integer NOT NULL,
	`prev_hash` text NOT NULL,
	`types` text NOT NULL,
	`actors` text NOT NULL,
	`hashes` text NOT NULL,
	`payloads` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_groups_ts` ON `event_groups` (`ts`);--> statement-breakpoint
CREATE TABLE `event_index` (
	`key` text NOT NULL,
	`seq` integer NOT NULL,
	PRIMARY KEY(`key`, `seq`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `event_groups` (`first_seq`, `last_seq`, `ts`, `prev_hash`, `types`, `actors`, `hashes`, `payloads`)
WITH `runs` AS (
	SELECT `seq`, `ts`, `type`, `actor`, `prev_hash`, `hash`, `payload`,
		`seq` - row_number() OVER (PARTITION BY `ts` ORDER BY `seq`) AS `island`
	FROM `events`
), `numbered` AS (
	SELECT *, row_number() OVER (PARTITION BY `ts`, `island` ORDER BY `seq`) - 1 AS `n` FROM `runs`
)
SELECT min(`seq`), max(`seq`), `ts`,
	group_concat(CASE WHEN `n` % 4096 = 0 THEN `prev_hash` END, ''),
	group_concat(`type`, char(10) ORDER BY `seq`),
	group_concat(`actor`, char(10) ORDER BY `seq`),
	group_concat(`hash`, '' ORDER BY `seq`),
	group_concat(`payload`, char(10) ORDER BY `seq`)
FROM `numbered`
GROUP BY `ts`, `island`, `n` / 4096
ORDER BY min(`seq`);
--> statement-breakpoint
INSERT OR IGNORE INTO `event_index` (`key`, `seq`)
SELECT 's:' || `sku`, `seq` FROM `events` WHERE `sku` IS NOT NULL
UNION ALL SELECT 'a:' || `actor`, `seq` FROM `events`
UNION ALL SELECT 'o:' || json_extract(`payload`, '$.inflowOrderId'), `seq` FROM `events`
	WHERE `type` = 'execution' AND json_extract(`payload`, '$.inflowOrderId') IS NOT NULL
UNION ALL SELECT 'o:' || json_extract(`payload`, '$.outflowOrderId'), `seq` FROM `events`
	WHERE `type` = 'execution' AND json_extract(`payload`, '$.outflowOrderId') IS NOT NULL;
--> statement-breakpoint
INSERT INTO `cursors` (`name`, `seq`, `updated_at`)
SELECT 'event_index', coalesce(max(`seq`), 0), CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM `events` WHERE true
ON CONFLICT (`name`) DO UPDATE SET `seq` = excluded.`seq`, `updated_at` = excluded.`updated_at`;
--> statement-breakpoint
DROP TABLE `events`;
