-- The ticket list is newest-activity first: this index serves its ORDER BY, so a client with
-- thousands of tickets is not sorted in full on every page.
CREATE INDEX tickets_client_updated ON tickets(client_id, updated_at, id);
