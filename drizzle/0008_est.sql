CREATE TABLE "est_labels" (
	"name" text PRIMARY KEY NOT NULL,
	"profile" text NOT NULL,
	"issuer_id" text,
	"auth" text DEFAULT 'both' NOT NULL,
	"channel_binding" boolean DEFAULT false NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "est_users" (
	"id" text PRIMARY KEY NOT NULL,
	"label" text NOT NULL,
	"name" text NOT NULL,
	"password_hash" bytea NOT NULL,
	"salt" bytea NOT NULL,
	"password_sealed" bytea NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "est_users_label_name_uq" ON "est_users" USING btree ("label","name");
