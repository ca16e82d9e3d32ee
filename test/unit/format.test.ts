import { describe, expect, it } from 'vitest';
import { formatBytes, groupDigits } from '../../common/format';

describe('numbers for people', () => {
  it('bytes in binary units, one decimal past bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 2)).toBe('3.0 MiB');
    expect(formatBytes(-2048)).toBe('-2.0 KiB');
    expect(formatBytes(Number.NaN)).toBe('?');
  });

  it('groups digits by thousands', () => {
    expect(groupDigits(1234567)).toBe('1,234,567');
    expect(groupDigits('50000')).toBe('50,000');
    expect(groupDigits(999)).toBe('999');
  });
});
