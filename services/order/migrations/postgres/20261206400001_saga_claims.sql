-- A saga resumer claims the sagas it resumes until this time, so that with several replicas
-- on one database each stalled saga is driven by one of them at a time.
ALTER TABLE orders ADD COLUMN resume_claimed_until TIMESTAMPTZ;
