CREATE TABLE "cmp_secrets" (
	"ref" text PRIMARY KEY NOT NULL,
	"alias" text,
	"secret_sealed" "bytea" NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cmp_transactions" (
	"transaction_id" text PRIMARY KEY NOT NULL,
	"body_type" text NOT NULL,
	"sender" text NOT NULL,
	"alias" text NOT NULL,
	"state" text NOT NULL,
	"server_nonce" text NOT NULL,
	"cert_req_id" text,
	"request_id" text,
	"issuer_id" text,
	"serial" text,
	"cert_der" "bytea",
	"protection" jsonb NOT NULL,
	"confirm_by" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "cmp_transactions_confirm_idx" ON "cmp_transactions" USING btree ("state","confirm_by");
