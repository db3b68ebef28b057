-- Every client list runs newest first by its date, then id (and the API's cursors resume after
-- a row's date and id): these indexes serve that ORDER BY and the cursor's range, so a page reads
-- only its own rows instead of sorting the client's whole list. Tickets have theirs (0005).
CREATE INDEX invoices_client_issued ON invoices(client_id, issued_at, id);
CREATE INDEX orders_client_created ON orders(client_id, created_at, id);
CREATE INDEX subscriptions_client_started ON subscriptions(client_id, started_at, id);
CREATE INDEX files_client_created ON files(client_id, created_at, id);
CREATE INDEX tasks_client_created ON tasks(client_id, created_at, id);
