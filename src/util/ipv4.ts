/** Small IPv4 arithmetic for planning subnets; no dependencies, no surprises. */

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`"${text}" is not an IPv4 address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function parseCidr(text: string): Cidr {
  const [address, prefixText, ...rest] = text.split('/');
  const prefix = Number(prefixText);
  if (address === undefined || rest.length > 0 || !/^\d{1,2}$/.test(prefixText ?? '') || prefix > 32) {
    throw new Error(`"${text}" is not an IPv4 CIDR such as 10.244.0.0/16`);
  }
  const size = 2 ** (32 - prefix);
  const ip = parseIpv4(address);
  if (ip % size !== 0) {
    throw new Error(`"${text}" has host bits set; did you mean ${formatIpv4(ip - (ip % size))}/${prefix}?`);
  }
  return { base: ip, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

/** The n-th address of a range (0 is the network address). */
export function nthAddress(cidr: Cidr, n: number): string {
  if (n < 0 || n >= cidrSize(cidr)) throw new Error(`${formatCidr(cidr)} has no address number ${n}`);
  return formatIpv4(cidr.base + n);
}

/** The n-th sub-range of the given prefix inside a range. */
export function nthSubnet(cidr: Cidr, prefix: number, n: number): Cidr {
  if (prefix < cidr.prefix) throw new Error(`a /${prefix} does not fit in ${formatCidr(cidr)}`);
  const size = 2 ** (32 - prefix);
  if (n < 0 || (n + 1) * size > cidrSize(cidr)) throw new Error(`${formatCidr(cidr)} has no /${prefix} number ${n}`);
  return { base: cidr.base + n * size, prefix };
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}
