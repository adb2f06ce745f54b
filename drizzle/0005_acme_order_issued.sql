-- An ACME order turns valid in the transaction that stores its certificate (ACME enrollments carry
-- the order id in metadata.acmeOrder): no moment in which the certificate exists while its order
-- still says ready or processing, and one statement fewer per finalization. A certificate issued
-- later (held for approval) completes its order the same way.
CREATE FUNCTION acme_order_issued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE acme_orders SET status = 'valid', certificate_id = NEW.id, csr = NULL, error = NULL
  WHERE id = NEW.metadata ->> 'acmeOrder' AND status IN ('ready', 'processing')
    AND NEW.principal = 'acme:account:' || account_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER acme_order_issued AFTER INSERT ON certificates
  FOR EACH ROW WHEN (NEW.protocol = 'acme' AND NEW.metadata ? 'acmeOrder')
  EXECUTE FUNCTION acme_order_issued();
