-- emCA V5 management roles (issue 16 item 3): client (certificate API only), auditor, officer, administrator.
ALTER TABLE "emca_clients" ADD COLUMN "role" text DEFAULT 'client' NOT NULL;
