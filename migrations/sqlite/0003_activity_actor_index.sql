-- Lets the activity log filter by a client actor (?actor=client:ID) walk an index instead of scanning.
CREATE INDEX activity_actor_client ON activity(actor_client_id, id);
