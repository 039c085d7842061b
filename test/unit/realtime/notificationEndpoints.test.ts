import { describe, expect, it } from 'vitest';
import {
  InvalidPublicUrlError, LIFECYCLE_PATH, NOTIFICATION_PATH, isLoopbackHost, notificationEndpoints, parsePublicBaseUrl,
} from '../../../src/realtime/notificationEndpoints';

describe('parsePublicBaseUrl', () => {
  it('accepts https anywhere', () => {
    expect(parsePublicBaseUrl('https://connector.example.com', 'publicUrl').href).toBe('https://connector.example.com/');
    expect(parsePublicBaseUrl('https://connector.example.com:8443/base', 'publicUrl').href).toBe('https://connector.example.com:8443/base');
  });

  it('accepts http for loopback addresses only', () => {
    for (const url of ['http://127.0.0.1:7071', 'http://localhost:7071', 'http://[::1]:7071', 'http://127.8.9.10', 'http://LOCALHOST']) {
      expect(() => parsePublicBaseUrl(url, 'publicUrl'), url).not.toThrow();
    }
    for (const url of ['http://connector.example.com', 'http://10.0.0.4:7071', 'http://128.0.0.1', 'http://127.0.0.1.example.com']) {
      expect(() => parsePublicBaseUrl(url, 'publicUrl'), url).toThrow(InvalidPublicUrlError);
      expect(() => parsePublicBaseUrl(url, 'publicUrl'), url).toThrow(/must use https/);
    }
  });

  it('refuses a query or a fragment, naming the field', () => {
    expect(() => parsePublicBaseUrl('https://connector.example.com/?code=abc', 'SERVE_PUBLIC_URL')).toThrow(/^SERVE_PUBLIC_URL: .*without query or fragment/);
    expect(() => parsePublicBaseUrl('https://connector.example.com/#x', 'SERVE_PUBLIC_URL')).toThrow(/without query or fragment/);
  });

  it('refuses what is not an absolute web URL', () => {
    expect(() => parsePublicBaseUrl('connector.example.com', 'publicUrl')).toThrow(/^publicUrl: "connector.example.com" is not an absolute URL/);
    expect(() => parsePublicBaseUrl('/api', 'publicUrl')).toThrow(InvalidPublicUrlError);
    expect(() => parsePublicBaseUrl('ftp://connector.example.com', 'publicUrl')).toThrow(InvalidPublicUrlError);
  });
});

describe('isLoopbackHost', () => {
  it('knows the loopback names and the whole 127/8 range', () => {
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.255.0.3')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('example.com')).toBe(false);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
  });
});

describe('notificationEndpoints', () => {
  const base = parsePublicBaseUrl('https://connector.example.com', 'publicUrl');

  it('appends the notification and lifecycle paths', () => {
    const endpoints = notificationEndpoints(base, undefined);
    expect(endpoints.notificationUrl).toBe(`https://connector.example.com${NOTIFICATION_PATH}`);
    expect(endpoints.lifecycleUrl).toBe(`https://connector.example.com${LIFECYCLE_PATH}`);
    expect(endpoints.display).toBe(endpoints.notificationUrl);
  });

  it('keeps a path base, with or without a trailing slash', () => {
    for (const url of ['https://example.com/connector', 'https://example.com/connector/', 'https://example.com/connector//']) {
      const endpoints = notificationEndpoints(parsePublicBaseUrl(url, 'publicUrl'), undefined);
      expect(endpoints.notificationUrl).toBe('https://example.com/connector/api/graph/notifications');
      expect(endpoints.lifecycleUrl).toBe('https://example.com/connector/api/graph/lifecycle');
    }
  });

  it('adds the key as ?code= to both URLs, and never to display', () => {
    const key = 'Zm9vYmFyYmF6/+=key==';
    const endpoints = notificationEndpoints(base, key);
    const notification = new URL(endpoints.notificationUrl);
    const lifecycle = new URL(endpoints.lifecycleUrl);
    expect(notification.searchParams.get('code')).toBe(key);
    expect(lifecycle.searchParams.get('code')).toBe(key);
    expect(notification.pathname).toBe(NOTIFICATION_PATH);
    expect(lifecycle.pathname).toBe(LIFECYCLE_PATH);
    expect(endpoints.display).toBe(`https://connector.example.com${NOTIFICATION_PATH}`);
    expect(endpoints.display).not.toContain('code');
    expect(endpoints.display).not.toContain(encodeURIComponent(key));
    expect(endpoints.fingerprint).not.toContain(key);
  });

  it('has a fingerprint that is stable for the same URLs and changes with the key or the base', () => {
    const plain = notificationEndpoints(base, undefined).fingerprint;
    const withKey = notificationEndpoints(base, 'key-one').fingerprint;
    expect(notificationEndpoints(base, undefined).fingerprint).toBe(plain);
    expect(notificationEndpoints(parsePublicBaseUrl('https://connector.example.com', 'x'), 'key-one').fingerprint).toBe(withKey);
    expect(withKey).not.toBe(plain);
    expect(notificationEndpoints(base, 'key-two').fingerprint).not.toBe(withKey);
    expect(notificationEndpoints(parsePublicBaseUrl('https://other.example.com', 'x'), 'key-one').fingerprint).not.toBe(withKey);
    expect(notificationEndpoints(parsePublicBaseUrl('https://connector.example.com/b', 'x'), 'key-one').fingerprint).not.toBe(withKey);
    expect(plain).toMatch(/^[0-9a-f]{32}$/);
  });
});
