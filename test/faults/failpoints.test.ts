import { describe, expect, it } from 'vitest';
import { failpoint, parseFailpoints } from '../../src/sync/failpoints';

describe('S365_FAILPOINTS', () => {
  it('arms nothing when unset or empty, so failpoint() returns in a normal run', () => {
    expect(parseFailpoints(undefined).size).toBe(0);
    expect(parseFailpoints('').size).toBe(0);
    const saved = process.env.S365_FAILPOINTS;
    delete process.env.S365_FAILPOINTS;
    try {
      expect(() => { failpoint('afterMirrorWrite'); failpoint('afterCursorSave'); failpoint('afterUploadBeforeAck'); }).not.toThrow();
    } finally {
      if (saved !== undefined) process.env.S365_FAILPOINTS = saved;
    }
  });

  it('reads a comma-separated list, each name crashing on its first hit or on the N-th with name@N', () => {
    expect([...parseFailpoints(' afterMirrorWrite@3, afterCursorSave ,afterUploadBeforeAck@1').entries()]).toEqual([
      ['afterMirrorWrite', 3], ['afterCursorSave', 1], ['afterUploadBeforeAck', 1],
    ]);
  });

  it('refuses a misspelt name or count, so a fault test cannot pass because nothing was armed', () => {
    expect(() => parseFailpoints('afterMirrorWrites')).toThrow(/"afterMirrorWrites" is not one of afterMirrorWrite, afterCursorSave, afterUploadBeforeAck/);
    expect(() => parseFailpoints('afterCursorSave@0')).toThrow(/afterCursorSave@0/);
    expect(() => parseFailpoints('afterCursorSave@x')).toThrow(/afterCursorSave@x/);
  });
});
