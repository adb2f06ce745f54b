CREATE TABLE "acme_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"jwk" jsonb NOT NULL,
	"thumbprint" text NOT NULL,
	"status" text DEFAULT 'valid' NOT NULL,
	"contact" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"terms_agreed" boolean DEFAULT false NOT NULL,
	"eab_kid" text,
	"created_ip" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acme_authorizations" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"order_id" text NOT NULL,
	"identifier_type" text NOT NULL,
	"identifier_value" text NOT NULL,
	"wildcard" boolean DEFAULT false NOT NULL,
	"status" text NOT NULL,
	"expires" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acme_challenges" (
	"id" text PRIMARY KEY NOT NULL,
	"authz_id" text NOT NULL,
	"type" text NOT NULL,
	"token" text NOT NULL,
	"status" text NOT NULL,
	"validated" timestamp with time zone,
	"error" jsonb,
	"attempts" integer DEFAULT 0 NOT NULL,
	"record" jsonb
);
--> statement-breakpoint
CREATE TABLE "acme_eab_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"hmac_key_sealed" "bytea" NOT NULL,
	"note" text,
	"created_by" text NOT NULL,
	"account_id" text,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acme_nonces" (
	"nonce" text PRIMARY KEY NOT NULL,
	"expires" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acme_orders" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"status" text NOT NULL,
	"expires" timestamp with time zone NOT NULL,
	"identifiers" jsonb NOT NULL,
	"authz_ids" text[] NOT NULL,
	"not_before" timestamp with time zone,
	"not_after" timestamp with time zone,
	"profile" text NOT NULL,
	"certgate_profile" text NOT NULL,
	"replaces" text,
	"error" jsonb,
	"certificate_id" text,
	"csr" "bytea",
	"processing_since" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "acme_rate_limits" (
	"key" text NOT NULL,
	"window" bigint NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "acme_rate_limits_key_window_pk" PRIMARY KEY("key","window")
);
--> statement-breakpoint
CREATE TABLE "acme_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"sealed" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "acme_accounts_thumbprint_uq" ON "acme_accounts" USING btree ("thumbprint");--> statement-breakpoint
CREATE INDEX "acme_authz_order_idx" ON "acme_authorizations" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "acme_challenges_authz_idx" ON "acme_challenges" USING btree ("authz_id");--> statement-breakpoint
CREATE INDEX "acme_nonces_expires_idx" ON "acme_nonces" USING btree ("expires");--> statement-breakpoint
CREATE INDEX "acme_orders_account_idx" ON "acme_orders" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "acme_orders_status_idx" ON "acme_orders" USING btree ("status","processing_since");