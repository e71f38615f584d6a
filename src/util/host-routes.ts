import { readFile } from 'node:fs/promises';

/** The host's own routes (not the default route), which a cluster network must not shadow. */
export async function hostRoutes(): Promise<string[]> {
  const text = await readFile('/proc/net/route', 'utf8').catch(() => '');
  const hexToIp = (hex: string) => {
    const n = parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
  };
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 7 && f[1] !== '00000000')
    .map((f) => {
      const mask = parseInt(f[7] ?? '0', 16);
      const prefix = mask.toString(2).split('').filter((b) => b === '1').length;
      return `${hexToIp(f[1] ?? '0')}/${prefix}`;
    });
}
