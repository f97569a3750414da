import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { mintKey } from '../src/domain/api-key';
import { startTestGateway, type TestGateway } from './support/gateway';
import { LedgerReader } from './support/http';

let gw: TestGateway;
let ledger: LedgerReader;

beforeAll(async () => {
  gw = await startTestGateway();
  ledger = new LedgerReader(gw.dbPath);
});
afterAll(async () => {
  ledger.close();
  await gw.stop();
});
afterEach(() => gw.backend.setFault({ kind: 'none' }));

/** The official SDK pointed at the gateway, with retries off so each call is one request. */
async function client(options: Parameters<typeof gw.customerWithKey>[0] = {}, maxRetries = 0) {
  const { secret, customerId } = await gw.customerWithKey(options);
  return { openai: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries }), customerId };
}

const messages = [{ role: 'user' as const, content: 'hello there friend' }];

describe('the openai SDK against the gateway', () => {
  test('a chat completion comes back with its usage, and the ledger agrees', async () => {
    const { openai } = await client();
    const completion = await openai.chat.completions.create({ model: 'chat', messages });
    expect(completion.choices[0].message.content).toBe('Echo: hello there friend');
    expect(completion.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 });
    expect(completion._request_id).toMatch(/^req_/);
    expect(ledger.only(completion._request_id!)).toMatchObject({ prompt_tokens: 6, completion_tokens: 5, estimated: 0 });
  });

  test('a stream with include_usage ends with a usage chunk', async () => {
    const { openai } = await client();
    const stream = await openai.chat.completions.create({ model: 'chat', messages, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 5 });
    expect(chunks.slice(0, -1).every((c) => !c.usage)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Echo: hello there friend');
  });

  test('a stream without include_usage has no usage chunk, yet is metered exactly', async () => {
    const { openai, customerId } = await client();
    const stream = await openai.chat.completions.create({ model: 'chat', messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) {
      expect(chunk.usage ?? null).toBeNull();
      expect(chunk.choices).toHaveLength(1);
    }
    const rows = ledger.rowsOfCustomer(customerId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ stream: 1, prompt_tokens: 6, completion_tokens: 5, estimated: 0 });
  });

  test('embeddings come back with their usage', async () => {
    const { openai } = await client();
    const result = await openai.embeddings.create({ model: 'chat', input: ['alpha beta gamma', 'delta'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[0].embedding.length).toBeGreaterThan(0);
    expect(result.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    expect(ledger.only(result._request_id!)).toMatchObject({ route: 'embeddings', prompt_tokens: 4 });
  });

  test('GET /v1/models lists through the SDK', async () => {
    const { openai } = await client({ allowedModels: ['chat'] });
    const ids = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toEqual(['chat']);
  });
});

describe('errors raise the SDK’s exception classes', () => {
  test('a bad key raises AuthenticationError', async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: mintKey('live').secret, maxRetries: 0 });
    const error = await openai.chat.completions.create({ model: 'chat', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
  });

  test('an unknown model raises NotFoundError', async () => {
    const { openai } = await client();
    const error = await openai.chat.completions.create({ model: 'no-such-model', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).param).toBe('model');
  });

  test('a model the key may not call raises PermissionDeniedError', async () => {
    const { openai } = await client({ allowedModels: ['json'] });
    const error = await openai.chat.completions.create({ model: 'chat', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_not_allowed');
  });

  test('a backend failure raises InternalServerError with status 502', async () => {
    const { openai } = await client();
    gw.backend.setFault({ kind: 'status', status: 500 });
    const error = await openai.chat.completions.create({ model: 'chat', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.InternalServerError>).code).toBe('upstream_error');
  });

  test('the SDK’s own retry of a 502 is two calls, two rows, nothing billed', async () => {
    const { openai, customerId } = await client({}, 1);
    gw.backend.setFault({ kind: 'status', status: 500 });
    const error = await openai.chat.completions.create({ model: 'chat', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    const rows = ledger.rowsOfCustomer(customerId);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ status: 502, prompt_tokens: 0, completion_tokens: 0 });
  });
});
