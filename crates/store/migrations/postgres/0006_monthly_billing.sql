-- How far the scheduler has carried out the work due at each midnight (R2, R3): work resumes after a crash from
-- the first midnight not recorded here, and each step of a midnight is itself once-only by its own unique keys.
CREATE TABLE schedule_progress (
    name TEXT PRIMARY KEY,
    done_through BIGINT NOT NULL
);

-- A payment attempt made for a dated reason (the monthly bill's first charge, a dunning retry, R22) names it, so
-- that running the same midnight again never charges again; attempts a new card triggers have none.
ALTER TABLE payment_attempts ADD COLUMN slot TEXT;
CREATE UNIQUE INDEX payment_attempts_slot ON payment_attempts (bill_id, slot) WHERE slot IS NOT NULL;

CREATE INDEX bills_period ON bills (kind, period, status);
CREATE INDEX subscriptions_state ON subscriptions (state, created_at);
