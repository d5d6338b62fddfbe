-- The audit index finds an event under every sku it concerns: a hold's cart and a refused
-- command's too (storage/event-indexer.js, skusOf). It is rebuilt from the log: emptied here with
-- its cursor, the log worker indexes every event again after the node starts, and queries scan the
-- log beyond the cursor meanwhile.
DELETE FROM `event_index`;--> statement-breakpoint
DELETE FROM `cursors` WHERE `name` = 'event_index';
