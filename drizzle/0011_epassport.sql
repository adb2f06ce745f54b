CREATE TABLE "epassport_authorities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" text NOT NULL,
	"holder" text NOT NULL,
	"terminal_type" text NOT NULL,
	"curve" text NOT NULL,
	"current_certificate_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "epassport_authorities_holder_idx" ON "epassport_authorities" USING btree ("holder");
--> statement-breakpoint
CREATE TABLE "epassport_holders" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"holder" text NOT NULL,
	"role" text NOT NULL,
	"authority_id" uuid NOT NULL,
	"profile" text NOT NULL,
	"initial_allowed" boolean DEFAULT false NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "epassport_holders_holder_idx" ON "epassport_holders" USING btree ("holder");
--> statement-breakpoint
CREATE TABLE "epassport_profiles" (
	"name" text PRIMARY KEY NOT NULL,
	"role" text NOT NULL,
	"terminal_type" text NOT NULL,
	"chat" text NOT NULL,
	"max_validity_days" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "epassport_certificates" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"car" text NOT NULL,
	"chr" text NOT NULL,
	"role" text NOT NULL,
	"terminal_type" text NOT NULL,
	"origin" text NOT NULL,
	"der" bytea NOT NULL,
	"effective" timestamp with time zone NOT NULL,
	"expiration" timestamp with time zone NOT NULL,
	"key_ref" text,
	"authority_id" uuid,
	"holder_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "epassport_certificates_car_chr_idx" ON "epassport_certificates" USING btree ("car","chr");
--> statement-breakpoint
CREATE INDEX "epassport_certificates_chr_idx" ON "epassport_certificates" USING btree ("chr");
--> statement-breakpoint
CREATE TABLE "epassport_messages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"operation" text NOT NULL,
	"message_id" text,
	"originator" text NOT NULL,
	"response_url" text,
	"status" text NOT NULL,
	"return_code" text,
	"request_der" bytea,
	"certificate_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "epassport_messages_origin_msg_idx" ON "epassport_messages" USING btree ("originator","message_id");
--> statement-breakpoint
CREATE TABLE "epassport_ds_lists" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"der" bytea NOT NULL,
	"signer_subject" text NOT NULL,
	"certificate_count" integer NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
