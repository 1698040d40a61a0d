// File: openai.test.mjs
// The `openai` SDK (pinned in package.json) against modelrelay's /v1 front door (clients.md §3.3): chat
// non-stream and stream (with include_usage), embeddings with the SDK's default base64 encoding and with
// floats, the model list, and the SDK's error classes for OpenAI-shaped errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import OpenAI from 'openai';

import {
  chat_connector, completion_text, deployed_model, embedding_connector, expected_vector, open_settings,
  start_fake_upstream, start_server,
} from './harness.mjs';

let server;
let upstream;
let openai;
let chat_id;

before(async () => {
  upstream = await start_fake_upstream();
  server = await start_server();
  await open_settings(server);
  chat_id = await deployed_model(server, chat_connector(upstream), 'chat-model');
  await deployed_model(server, embedding_connector(upstream), 'embed-model');
  openai = new OpenAI({
    baseURL: server.url + '/v1',
    apiKey: 'sk-not-checked',
    maxRetries: 0,
    defaultHeaders: { 'X-Custom-Header': 'client-tests' },
  });
});

after(async () => {
  await server?.stop();
  await upstream?.close();
});

test('chat completion without streaming', async () => {
  for (const model of ['chat-model', chat_id]) {
    const completion = await openai.chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }],
      temperature: 0.2,
    });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0].message.role, 'assistant');
    assert.equal(completion.choices[0].message.content, completion_text);
    assert.equal(completion.usage.prompt_tokens, 4);
    assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + completion.usage.completion_tokens);
  }
  // The connector's template and upstream model were used.
  const sent = JSON.parse(upstream.requests.at(-1).body);
  assert.equal(sent.model, 'gpt-upstream');
  assert.equal(sent.messages.length, 2);
});

test('chat completion streaming, with and without usage', async () => {
  const stream = await openai.chat.completions.create({
    model: 'chat-model',
    messages: [{ role: 'user', content: 'Count to three' }],
    stream: true,
  });
  let text = '';
  let chunks = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.usage, undefined);
    text += chunk.choices[0]?.delta?.content ?? '';
    ++chunks;
  }
  assert.equal(text, completion_text);
  assert.ok(chunks >= completion_text.split(' ').length);
  assert.equal(JSON.parse(upstream.requests.at(-1).body).stream, true);

  const with_usage = await openai.chat.completions.create({
    model: 'chat-model',
    messages: [{ role: 'user', content: 'one two three' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage = null;
  for await (const chunk of with_usage) {
    if (chunk.usage) usage = chunk.usage;
  }
  assert.deepEqual(usage, { prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 });
});

test('embeddings: the default base64 encoding and floats', async () => {
  const inputs = ['first text', 'second text'];
  // The SDK asks for base64 by default and decodes little-endian float32 itself.
  const b64 = await openai.embeddings.create({ model: 'embed-model', input: inputs });
  assert.equal(b64.object, 'list');
  assert.equal(b64.data.length, 2);
  b64.data.forEach((d, i) => {
    assert.equal(d.index, i);
    assert.deepEqual(Array.from(d.embedding), expected_vector(inputs[i]));
  });
  assert.equal(JSON.parse(upstream.requests.at(-1).body).encoding_format, undefined,
    'the upstream is asked for floats; modelrelay encodes');

  const floats = await openai.embeddings.create({ model: 'embed-model', input: 'first text', encoding_format: 'float' });
  assert.deepEqual(floats.data[0].embedding, expected_vector('first text'));
  assert.equal(typeof floats.usage.prompt_tokens, 'number');
});

test('models list', async () => {
  const ids = [];
  for await (const model of openai.models.list()) {
    assert.equal(model.object, 'model');
    assert.equal(model.owned_by, 'modelrelay');
    ids.push(model.id);
  }
  assert.ok(ids.includes(chat_id));
  assert.ok(ids.includes('chat-model'));
  assert.ok(ids.includes('embed-model'));
  const one = await openai.models.retrieve('chat-model');
  assert.equal(one.id, 'chat-model');
});

test('errors map onto the SDK error classes', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model: 'no-such-model', messages: [] }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, String(err));
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.param, null); // as api.openai.com answers model_not_found
      return true;
    },
  );
  await assert.rejects(
    openai.chat.completions.create({ model: 'chat-model' }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'messages',
  );
});
