CREATE TABLE "ocsp_issuer_settings" (
	"issuer_id" text PRIMARY KEY NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ocsp_responders" (
	"id" text PRIMARY KEY NOT NULL,
	"issuer_id" text NOT NULL,
	"certificate_id" text NOT NULL,
	"serial" text NOT NULL,
	"cert_der" "bytea" NOT NULL,
	"key_sealed" "bytea" NOT NULL,
	"key_algorithm" text NOT NULL,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "ocsp_responders_issuer_idx" ON "ocsp_responders" USING btree ("issuer_id","status");