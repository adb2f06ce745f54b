ALTER TABLE "principals" ADD COLUMN "password_hash" text;--> statement-breakpoint
ALTER TABLE "principals" ADD COLUMN "login_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "principals" ADD COLUMN "login_blocked_until" timestamp with time zone;
