// File: es_inference.test.mjs
// @elastic/elasticsearch (pinned in package.json) against modelrelay's Elasticsearch `_inference` front door
// (clients.md §1, §3.2): put (with and without a task type, and putOpenai), get (by id, by task type, all),
// completion, textEmbedding, streamCompletion and chatCompletionUnified read to the end, update, delete, and
// the ResponseError envelope. Every 2xx passing proves the X-Elastic-Product product check (the client throws
// ProductNotSupportedError without it). The harness (start_server, start_fake_upstream) is shared.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client, errors } from '@elastic/elasticsearch';

import { api_key, completion_text, expected_vector, open_settings, start_fake_upstream, start_server } from './harness.mjs';

let server;
let upstream;
let client;

before(async () => {
  upstream = await start_fake_upstream();
  server = await start_server();
  // The fake upstream listens on 127.0.0.1: trust it and allow private addresses (modelrelay's SSRF guard).
  await open_settings(server);
  client = new Client({ node: server.url, maxRetries: 0 });
});

after(async () => {
  await client?.close();
  await server?.stop();
  await upstream?.close();
});

function openai_settings(path, extra = {}) {
  return { api_key, model_id: 'gpt-upstream', url: upstream.url + path, ...extra };
}

async function read_all(stream) {
  const parts = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

// `event: message` / `data: ...` frames → [{event, data}].
function events_of(text) {
  return text.split('\n\n').filter((block) => block.length > 0).map((block) => {
    const event = {};
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event.event = line.slice(7);
      if (line.startsWith('data: ')) event.data = line.slice(6);
    }
    return event;
  });
}

test('put with a task type, get it back three ways, and run a completion', async () => {
  const info = await client.inference.put({
    task_type: 'completion',
    inference_id: 'es-completion',
    inference_config: { service: 'openai', service_settings: openai_settings('/v1/chat/completions') },
  });
  assert.deepEqual(info, {
    inference_id: 'es-completion',
    task_type: 'completion',
    service: 'openai',
    service_settings: {
      model_id: 'gpt-upstream',
      url: upstream.url + '/v1/chat/completions',
      rate_limit: { requests_per_minute: 500 },
    },
  });
  for (const params of [
    { inference_id: 'es-completion' },
    { task_type: 'completion', inference_id: 'es-completion' },
    { task_type: 'completion', inference_id: '_all' },
  ]) {
    const got = await client.inference.get(params);
    assert.deepEqual(got.endpoints, [info], JSON.stringify(params));
  }
  const all = await client.inference.get();
  assert.ok(all.endpoints.some((e) => e.inference_id === 'es-completion'));
  assert.ok(!JSON.stringify(all).includes(api_key), 'the api_key is never returned');

  const result = await client.inference.completion({ inference_id: 'es-completion', input: 'Say hello' });
  assert.deepEqual(result, { completion: [{ result: completion_text }] });
  const sent = upstream.requests.at(-1);
  assert.equal(sent.headers.authorization, `Bearer ${api_key}`);
  assert.deepEqual(JSON.parse(sent.body).messages, [{ role: 'user', content: 'Say hello' }]);

  const generic = await client.inference.inference({ inference_id: 'es-completion', input: ['Say hello'] });
  assert.equal(generic.completion[0].result, completion_text);
});

test('streamCompletion yields message events ending with [DONE]', async () => {
  const stream = await client.inference.streamCompletion(
    { inference_id: 'es-completion', input: 'Say hello' },
    { asStream: true },
  );
  const events = events_of(await read_all(stream));
  assert.ok(events.length > 1);
  assert.ok(events.every((e) => e.event === 'message'));
  assert.deepEqual(events.at(-1), { event: 'message', data: '[DONE]' });
  const text = events.slice(0, -1).map((e) => JSON.parse(e.data).completion.map((c) => c.delta).join('')).join('');
  assert.equal(text, completion_text);
});

test('putOpenai chat_completion and chatCompletionUnified stream raw OpenAI chunks', async () => {
  await client.inference.putOpenai({
    task_type: 'chat_completion',
    openai_inference_id: 'es-chat',
    service: 'openai',
    service_settings: openai_settings('/v1/chat/completions'),
  });
  const stream = await client.inference.chatCompletionUnified(
    {
      inference_id: 'es-chat',
      chat_completion_request: {
        messages: [{ role: 'user', content: 'What is the capital of France?' }],
        temperature: 0.7,
        max_completion_tokens: 300,
      },
    },
    { asStream: true },
  );
  const events = events_of(await read_all(stream));
  assert.deepEqual(events.at(-1), { event: 'message', data: '[DONE]' });
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && !('created' in c)));
  const text = chunks.flatMap((c) => c.choices).map((c) => c.delta.content ?? '').join('');
  assert.equal(text, completion_text);
  assert.ok(chunks.at(-1).usage.total_tokens > 0, 'the last chunk carries usage');
  const sent = JSON.parse(upstream.requests.at(-1).body);
  assert.equal(sent.stream, true);
  assert.deepEqual(sent.stream_options, { include_usage: true });
  assert.equal(sent.max_completion_tokens, 300);
});

test('text embedding without a task type in the put URL', async () => {
  const info = await client.inference.put({
    inference_id: 'es-embeddings',
    inference_config: {
      task_type: 'text_embedding',
      service: 'openai',
      service_settings: openai_settings('/v1/embeddings', { model_id: 'text-embedding-3-small' }),
    },
  });
  assert.equal(info.task_type, 'text_embedding');
  assert.equal(info.service_settings.dimensions, 8);
  assert.equal(info.service_settings.similarity, 'dot_product');
  const result = await client.inference.textEmbedding({ inference_id: 'es-embeddings', input: ['a', 'b'] });
  assert.equal(result.text_embedding.length, 2);
  result.text_embedding[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - expected_vector('a')[i]) < 1e-6));
  const by_type = await client.inference.get({ task_type: 'text_embedding', inference_id: '_all' });
  assert.deepEqual(by_type.endpoints.map((e) => e.inference_id), ['es-embeddings']);
});

test('update rotates the key and changes task settings', async () => {
  const updated = await client.inference.update({
    inference_id: 'es-completion',
    inference_config: { service_settings: { api_key: 'sk-rotated' }, task_settings: { user: 'kibana' } },
  });
  assert.deepEqual(updated.task_settings, { user: 'kibana' });
  await client.inference.completion({ inference_id: 'es-completion', input: 'again' });
  const sent = upstream.requests.at(-1);
  assert.equal(sent.headers.authorization, 'Bearer sk-rotated');
  assert.equal(JSON.parse(sent.body).user, 'kibana');
});

test('errors arrive as ResponseError with the Elasticsearch envelope', async () => {
  await assert.rejects(client.inference.get({ inference_id: 'missing' }), (err) => {
    assert.ok(err instanceof errors.ResponseError);
    assert.equal(err.meta.statusCode, 404);
    assert.equal(err.meta.body.error.type, 'resource_not_found_exception');
    assert.equal(err.meta.body.error.reason, 'Inference endpoint not found [missing]');
    return true;
  });
  await assert.rejects(
    client.inference.put({
      task_type: 'completion',
      inference_id: 'es-completion',
      inference_config: { service: 'openai', service_settings: openai_settings('/v1/chat/completions') },
    }),
    (err) => err.meta.statusCode === 400 && err.meta.body.error.type === 'resource_already_exists_exception',
  );
  await assert.rejects(
    client.inference.textEmbedding({ inference_id: 'es-completion', input: 'x' }),
    (err) => err.meta.statusCode === 400 && /Incompatible task_type/.test(err.meta.body.error.reason),
  );
});

test('delete removes endpoints', async () => {
  for (const inference_id of ['es-completion', 'es-chat', 'es-embeddings']) {
    const r = await client.inference.delete({ inference_id, force: true });
    assert.deepEqual(r, { acknowledged: true, pipelines: [] });
  }
  const all = await client.inference.get();
  assert.deepEqual(all.endpoints, []);
  assert.ok(!server.log().includes(api_key), 'the api_key never reaches the log');
});
