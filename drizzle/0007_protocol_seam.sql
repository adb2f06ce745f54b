-- The protocol seam: ACME completes its order through a pipeline onPersist hook composed into the
-- certificate insert, not a trigger on the core table.
DROP TRIGGER IF EXISTS acme_order_issued ON certificates;
--> statement-breakpoint
DROP FUNCTION IF EXISTS acme_order_issued();
--> statement-breakpoint
CREATE TABLE "sealed_keys" (
	"key_ref" text PRIMARY KEY NOT NULL,
	"label" text NOT NULL,
	"key_algorithm" text NOT NULL,
	"sealed" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service_identities" (
	"protocol" text NOT NULL,
	"name" text NOT NULL,
	"key_ref" text NOT NULL,
	"certificate_id" text NOT NULL,
	"issuer_id" text NOT NULL,
	"cert_der" "bytea" NOT NULL,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "service_identities_uq" ON "service_identities" USING btree ("protocol","name");
--> statement-breakpoint
-- OCSP responder keys move into the key store: the row keeps a reference (the old sealed key is
-- moved on first use by the OCSP module, then cleared).
ALTER TABLE "ocsp_responders" ADD COLUMN "key_ref" text;
--> statement-breakpoint
ALTER TABLE "ocsp_responders" ALTER COLUMN "key_sealed" DROP NOT NULL;
