-- Uploads the server already stored, by the batch id the agent gave them: an agent that did
-- not get the answer (the server died, the connection broke) sends the same batch again, maybe
-- to another replica, and is answered from here instead of storing it twice. Kept for the
-- retention period.
CREATE TABLE upload_batches (
    instance_id TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (instance_id, batch_id)
);
CREATE INDEX upload_batches_by_received ON upload_batches (received_ms);
