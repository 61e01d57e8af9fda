-- A refund bill names the bill whose charge it pays back, so that the gateway refunds that very charge (R23).
ALTER TABLE bills ADD COLUMN refund_of TEXT REFERENCES bills (id);
