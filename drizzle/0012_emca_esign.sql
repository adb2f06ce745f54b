CREATE TABLE "emca_esign_signers" (
	"id" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"signer_id" text NOT NULL,
	"key_ref" text NOT NULL,
	"certificate_id" text NOT NULL,
	"issuer_id" text NOT NULL,
	"serial" text NOT NULL,
	"disabled" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "emca_esign_signers_client_signer_uq" ON "emca_esign_signers" USING btree ("client_id","signer_id");
--> statement-breakpoint
CREATE TABLE "emca_esign_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"signer_row" text NOT NULL,
	"kind" text NOT NULL,
	"hash_algorithm" text NOT NULL,
	"digest" "bytea" NOT NULL,
	"document" "bytea",
	"code_mac" "bytea" NOT NULL,
	"code_sealed" "bytea",
	"attempts" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"signed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "emca_esign_requests_client_idx" ON "emca_esign_requests" USING btree ("client_id","created_at");
--> statement-breakpoint
CREATE TABLE "emca_key_recoveries" (
	"id" text PRIMARY KEY NOT NULL,
	"certificate_id" text NOT NULL,
	"issuer_id" text NOT NULL,
	"serial" text NOT NULL,
	"reason" text NOT NULL,
	"new_password_sealed" "bytea",
	"requested_by" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"decided_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "emca_key_recoveries_status_idx" ON "emca_key_recoveries" USING btree ("status","created_at");
