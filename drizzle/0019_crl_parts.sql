ALTER TABLE "crls" ADD COLUMN "parts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE TABLE "crl_parts" (
	"crl_id" bigint NOT NULL,
	"seq" integer NOT NULL,
	"bytes" bytea NOT NULL,
	CONSTRAINT "crl_parts_crl_id_seq_pk" PRIMARY KEY("crl_id","seq")
);
--> statement-breakpoint
ALTER TABLE "crl_parts" ADD CONSTRAINT "crl_parts_crl_id_crls_id_fk" FOREIGN KEY ("crl_id") REFERENCES "public"."crls"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "certificates_crl_serial_idx" ON "certificates" USING btree ("issuer_id","serial") WHERE "certificates"."status" in ('revoked', 'hold');
