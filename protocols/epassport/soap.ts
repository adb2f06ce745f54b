import type { Hono } from 'hono';
import type { AppEnv } from '../../src/http/app-env.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { Messages } from './messages.ts';
import type { EpassportSettings } from './settings.ts';

/** SOAP 1.1 endpoint (TR-03129 shape): see below. */
export function mountSoap(app: Hono<AppEnv>, ctx: ProtocolContext, messages: Messages, settings: EpassportSettings): void {
  void app; void ctx; void messages; void settings;
}
