import { describe, expect, it } from '@jest/globals';
import { embeddedIPv4, isPublicAddress } from './address-policy.js';

describe('the placement check connects to public addresses only', () => {
  it.each([
    ['0.0.0.0', '"this network"'],
    ['10.0.0.1', 'RFC 1918 10/8'],
    ['172.16.0.1', 'RFC 1918 172.16/12'],
    ['172.31.255.254', 'RFC 1918 172.16/12, its end'],
    ['192.168.1.1', 'RFC 1918 192.168/16'],
    ['100.64.0.1', 'carrier-grade NAT 100.64/10'],
    ['100.127.255.254', 'carrier-grade NAT, its end'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback, all of 127/8'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'IPv6 loopback'],
    ['fe80::1', 'IPv6 link-local'],
    ['fe80::1%eth0', 'IPv6 link-local with a zone'],
    ['fc00::1', 'unique local (ULA) fc00::/7'],
    ['fd12:3456:789a::1', 'unique local (ULA) fd00::/8'],
    ['fec0::1', 'deprecated site-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['2002:a00:1::1', '6to4 (may wrap a private IPv4)'],
    ['2001::1', 'Teredo'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback, dotted'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:10.1.2.3', 'IPv4-mapped private'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped link-local, hex'],
    ['64:ff9b::10.0.0.1', 'NAT64 of a private IPv4'],
    ['0:0:0:0:0:ffff:7f00:1', 'IPv4-mapped loopback, written out'],
    ['not an address', 'unparsable'],
    ['', 'empty'],
  ])('refuses %s (%s)', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    ['8.8.8.8'],
    ['95.167.1.1'],
    ['100.63.255.255'],
    ['100.128.0.1'],
    ['172.32.0.1'],
    ['11.0.0.1'],
    ['2a00:1450:4010:c05::8b'],
    ['2606:4700::1111'],
    ['::ffff:8.8.8.8'],
    ['::ffff:5fa7:101'],
    ['64:ff9b::8.8.8.8'],
  ])('allows the public %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it('reads the IPv4 address inside mapped and NAT64 IPv6 addresses', () => {
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('::FFFF:192.168.0.1')).toBe('192.168.0.1');
    expect(embeddedIPv4('64:ff9b::a00:1')).toBe('10.0.0.1');
    expect(embeddedIPv4('2a00::1')).toBeUndefined();
  });
});
