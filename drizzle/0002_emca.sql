CREATE TABLE "emca_clients" (
	"id" text PRIMARY KEY NOT NULL,
	"user_name" text NOT NULL,
	"password_hash" text NOT NULL,
	"em_key_hash" text NOT NULL,
	"aes_key_sealed" "bytea" NOT NULL,
	"aes_mode" text DEFAULT 'ECB' NOT NULL,
	"allowed_ips" text[] DEFAULT '{}'::text[] NOT NULL,
	"allowed_profiles" text[] DEFAULT '{}'::text[] NOT NULL,
	"signing_issuer_id" text,
	"signing_serial" text,
	"signing_certificate_id" text,
	"legacy_pfx" boolean DEFAULT false NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "emca_nonces" (
	"nonce" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "emca_pfx" (
	"certificate_id" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"issuer_id" text NOT NULL,
	"serial" text NOT NULL,
	"pfx_sealed" "bytea" NOT NULL,
	"password_sealed" "bytea" NOT NULL,
	"encryption" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "emca_profile_ids" (
	"id" serial PRIMARY KEY NOT NULL,
	"profile" text NOT NULL,
	CONSTRAINT "emca_profile_ids_profile_unique" UNIQUE("profile")
);
--> statement-breakpoint
CREATE TABLE "emca_transactions" (
	"id" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"application_id" text NOT NULL,
	"item_id" text DEFAULT '' NOT NULL,
	"format" text NOT NULL,
	"request_id" text,
	"subscriber_id" text,
	"pfx_password_sealed" "bytea",
	"replaces_serial" text,
	"replaces_issuer_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "emca_clients_user_name_uq" ON "emca_clients" USING btree ("user_name");--> statement-breakpoint
CREATE INDEX "emca_pfx_serial_idx" ON "emca_pfx" USING btree ("serial");--> statement-breakpoint
CREATE UNIQUE INDEX "emca_tx_app_uq" ON "emca_transactions" USING btree ("client_id","application_id","item_id");--> statement-breakpoint
CREATE INDEX "emca_tx_request_idx" ON "emca_transactions" USING btree ("request_id");