CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"outcome" text DEFAULT 'success' NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"request_id" text
);
--> statement-breakpoint
CREATE TABLE "certificates" (
	"id" text PRIMARY KEY NOT NULL,
	"issuer_id" text NOT NULL,
	"serial" text NOT NULL,
	"der" "bytea" NOT NULL,
	"subject" text NOT NULL,
	"sans" text[] DEFAULT '{}'::text[] NOT NULL,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"profile" text NOT NULL,
	"status" text DEFAULT 'valid' NOT NULL,
	"revoked_at" timestamp with time zone,
	"revocation_reason" integer,
	"invalidity_date" timestamp with time zone,
	"spki_sha256" text NOT NULL,
	"protocol" text NOT NULL,
	"principal" text NOT NULL,
	"idempotency_key" text,
	"replaces_id" text,
	"private_key_sealed" "bytea",
	"crl_partition" integer DEFAULT 0 NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "crls" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"issuer_id" text NOT NULL,
	"number" bigint NOT NULL,
	"base_number" bigint,
	"partition" integer DEFAULT 0 NOT NULL,
	"this_update" timestamp with time zone NOT NULL,
	"next_update" timestamp with time zone NOT NULL,
	"entries" integer NOT NULL,
	"der" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "issuers" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"parent_id" text,
	"cert_der" "bytea" NOT NULL,
	"subject" text NOT NULL,
	"key_algorithm" text NOT NULL,
	"private_key_sealed" "bytea",
	"key_ref" text,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"crl_number" bigint DEFAULT 0 NOT NULL,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pending_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"profile" text NOT NULL,
	"protocol" text NOT NULL,
	"principal" text NOT NULL,
	"subject" text NOT NULL,
	"request" jsonb NOT NULL,
	"idempotency_key" text,
	"certificate_id" text,
	"reason" text,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "principals" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"role" text NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "principals_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "profiles" (
	"name" text PRIMARY KEY NOT NULL,
	"definition" jsonb NOT NULL,
	"builtin" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "revocations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"certificate_id" text NOT NULL,
	"issuer_id" text NOT NULL,
	"serial" text NOT NULL,
	"action" text NOT NULL,
	"reason" integer,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "audit_at_idx" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_action_idx" ON "audit_events" USING btree ("action");--> statement-breakpoint
CREATE UNIQUE INDEX "certificates_issuer_serial_uq" ON "certificates" USING btree ("issuer_id","serial");--> statement-breakpoint
CREATE UNIQUE INDEX "certificates_idempotency_uq" ON "certificates" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "certificates_subject_idx" ON "certificates" USING btree ("subject");--> statement-breakpoint
CREATE INDEX "certificates_not_after_idx" ON "certificates" USING btree ("not_after");--> statement-breakpoint
CREATE INDEX "certificates_spki_idx" ON "certificates" USING btree ("spki_sha256");--> statement-breakpoint
CREATE INDEX "certificates_revoked_idx" ON "certificates" USING btree ("issuer_id","status");--> statement-breakpoint
CREATE INDEX "certificates_sans_idx" ON "certificates" USING gin ("sans");--> statement-breakpoint
CREATE UNIQUE INDEX "crls_issuer_number_partition_uq" ON "crls" USING btree ("issuer_id","number","partition");--> statement-breakpoint
CREATE INDEX "crls_latest_idx" ON "crls" USING btree ("issuer_id","partition","number");--> statement-breakpoint
CREATE UNIQUE INDEX "issuers_name_uq" ON "issuers" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "pending_idempotency_uq" ON "pending_requests" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "pending_status_idx" ON "pending_requests" USING btree ("status");--> statement-breakpoint
CREATE INDEX "revocations_issuer_at_idx" ON "revocations" USING btree ("issuer_id","at");