import { SELF } from 'cloudflare:test';
import { inject, it, expect } from 'vitest';

it('answers', async () => {
  const res = await SELF.fetch('http://gw/healthz');
  expect(res.status).toBe(200);
  const ready = await SELF.fetch('http://gw/readyz');
  expect(await ready.json()).toEqual({ status: 'ready' });
  const b = await fetch(`${inject('backendUrl')}/healthz`);
  expect(b.status).toBe(200);
});
