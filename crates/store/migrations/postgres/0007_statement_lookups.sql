-- The month whose usage a usage line charges: the bill's period, or the month before it for a late line (R14).
-- Statements show each month's activity whichever bill collected it (R19); NULL on lines that are not usage.
ALTER TABLE bill_lines ADD COLUMN usage_month TEXT;
UPDATE bill_lines SET usage_month = (SELECT b.period FROM bills b WHERE b.id = bill_lines.bill_id) WHERE kind = 'usage';

-- A bill's ledger transactions, as the ledger's checks and a bill's history look them up.
CREATE INDEX ledger_transactions_bill ON ledger_transactions (bill_id);
