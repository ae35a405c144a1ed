import { describe, expect, it } from 'vitest';
import { portLink } from './port-links.js';

describe('portLink', () => {
  it('links a TCP forward to a web port, at the address it listens on', () => {
    expect(portLink('127.0.0.1:8080:80/tcp')).toBe('http://127.0.0.1:8080/');
    expect(portLink('127.0.0.1:9443:443/tcp')).toBe('https://127.0.0.1:9443/');
    expect(portLink('[::1]:8080:8000/tcp')).toBe('http://[::1]:8080/');
  });

  it('reaches a wildcard listen on loopback', () => {
    expect(portLink('0.0.0.0:8080:80/tcp')).toBe('http://127.0.0.1:8080/');
    expect(portLink('[::]:8080:80/tcp')).toBe('http://[::1]:8080/');
  });

  it('makes no link for ssh, UDP, ranges or anything it cannot read', () => {
    expect(portLink('127.0.0.1:2222:22/tcp')).toBeNull();
    expect(portLink('127.0.0.1:8080:80/udp')).toBeNull();
    expect(portLink('127.0.0.1:8000-8001:8000-8001/tcp')).toBeNull();
    expect(portLink('javascript:alert(1)//:80')).toBeNull();
  });
});
