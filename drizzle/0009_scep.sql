CREATE TABLE "scep_transactions" (
	"label" text NOT NULL,
	"transaction_id" text NOT NULL,
	"spki_sha256" bytea NOT NULL,
	"signer_spki_sha256" bytea NOT NULL,
	"message_type" text NOT NULL,
	"status" text NOT NULL,
	"request_id" text,
	"certificate_id" text,
	"subject_der" bytea NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scep_transactions_label_transaction_id_pk" PRIMARY KEY("label","transaction_id")
);
--> statement-breakpoint
CREATE TABLE "scep_challenges" (
	"hash" bytea PRIMARY KEY NOT NULL,
	"label" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "scep_challenges_expires_idx" ON "scep_challenges" USING btree ("expires_at");
