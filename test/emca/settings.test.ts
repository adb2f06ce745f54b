/** emCA settings parsed by zod from CERTGATE_EMCA_*: defaults, values, and a bad value named. */
import { describe, expect, it } from 'vitest';
import { loadEmcaSettings } from '../../protocols/emca/settings.ts';

describe('emCA settings', () => {
  it('defaults when unset or empty', () => {
    expect(loadEmcaSettings({})).toEqual({ bodyLimit: 256 * 1024, emKeyRequired: true, v5TokenMaxMinutes: 1440 });
    expect(loadEmcaSettings({ CERTGATE_EMCA_BODY_LIMIT: '' })).toMatchObject({ bodyLimit: 256 * 1024 });
  });

  it('reads the variables', () => {
    expect(loadEmcaSettings({ CERTGATE_EMCA_BODY_LIMIT: '1024', CERTGATE_EMCA_EMKEY_REQUIRED: 'off', CERTGATE_EMCA_V5_TOKEN_MAX_MINUTES: '60' })).toEqual({
      bodyLimit: 1024,
      emKeyRequired: false,
      v5TokenMaxMinutes: 60,
    });
  });

  it('refuses a malformed value, naming the variable (no silent default)', () => {
    expect(() => loadEmcaSettings({ CERTGATE_EMCA_BODY_LIMIT: 'lots' })).toThrow(/^CERTGATE_EMCA_BODY_LIMIT: /);
    expect(() => loadEmcaSettings({ CERTGATE_EMCA_BODY_LIMIT: '-5' })).toThrow(/CERTGATE_EMCA_BODY_LIMIT/);
    expect(() => loadEmcaSettings({ CERTGATE_EMCA_EMKEY_REQUIRED: 'maybe' })).toThrow(/CERTGATE_EMCA_EMKEY_REQUIRED: expected true\/false/);
    expect(() => loadEmcaSettings({ CERTGATE_EMCA_V5_TOKEN_MAX_MINUTES: '0' })).toThrow(/CERTGATE_EMCA_V5_TOKEN_MAX_MINUTES/);
  });
});
