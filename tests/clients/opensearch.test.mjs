// File: opensearch.test.mjs
// @opensearch-project/opensearch (pinned in package.json) against the real modelrelay: the ml-commons
// walkthrough through `client.ml.*` (clients.md §3.1) — cluster settings, connector, model group,
// register, task, deploy, predict, streaming predict, search, undeploy — plus the client-side
// ConfigurationError for a missing model_id.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client, errors } from '@opensearch-project/opensearch';

import { api_key, chat_connector, completion_text, start_fake_upstream, start_server } from './harness.mjs';

let server;
let upstream;
let client;

before(async () => {
  upstream = await start_fake_upstream();
  server = await start_server();
  client = new Client({ node: server.url });
});

after(async () => {
  await client?.close();
  await server?.stop();
  await upstream?.close();
});

test('connector, register, deploy and predict through client.ml', async () => {
  const settings = await client.cluster.putSettings({
    body: {
      persistent: {
        'plugins.ml_commons.trusted_connector_endpoints_regex': ['.*$'],
        'plugins.ml_commons.connector.private_ip_enabled': true,
        'plugins.ml_commons.stream_enabled': true,
      },
    },
  });
  assert.equal(settings.statusCode, 200);
  assert.equal(settings.body.acknowledged, true);

  const connector = await client.ml.createConnector({ body: chat_connector(upstream) });
  assert.equal(connector.statusCode, 200);
  const { connector_id } = connector.body;
  assert.match(connector_id, /^[A-Za-z0-9_-]{20}$/);

  const got = await client.ml.getConnector({ connector_id });
  assert.equal(got.body.name, 'OpenAI chat (fake upstream)');
  assert.equal(got.body.credential, undefined, 'credentials are never returned');

  const group = await client.ml.registerModelGroup({ body: { name: 'client-tests', description: 'npm clients' } });
  assert.equal(group.body.status, 'CREATED');

  const registered = await client.ml.registerModel({
    body: {
      name: 'chat via opensearch-js',
      function_name: 'remote',
      model_group_id: group.body.model_group_id,
      description: 'registered by @opensearch-project/opensearch',
      connector_id,
    },
  });
  assert.equal(registered.body.status, 'CREATED');
  assert.ok(registered.body.task_id);
  const task = await client.ml.getTask({ task_id: registered.body.task_id });
  assert.equal(task.body.state, 'COMPLETED');
  const model_id = registered.body.model_id ?? task.body.model_id;
  assert.ok(model_id);

  // Bodiless POST (content-length: 0, no content-type), as the client sends it.
  const deployed = await client.ml.deployModel({ model_id });
  assert.equal(deployed.body.status, 'COMPLETED');
  const model = await client.ml.getModel({ model_id });
  assert.equal(model.body.model_state, 'DEPLOYED');

  const predicted = await client.ml.predictModel({
    model_id,
    body: { parameters: { messages: [{ role: 'user', content: 'Hello there' }] } },
  });
  assert.equal(predicted.statusCode, 200);
  const output = predicted.body.inference_results[0].output[0];
  assert.equal(output.name, 'response');
  assert.equal(output.dataAsMap.choices[0].message.content, completion_text);
  const sent = upstream.requests.at(-1);
  assert.equal(sent.headers.authorization, `Bearer ${api_key}`);
  assert.deepEqual(JSON.parse(sent.body), {
    model: 'gpt-upstream',
    messages: [{ role: 'user', content: 'Hello there' }],
  });

  // The same through the algorithm route the client exposes as ml.predict.
  const by_algorithm = await client.ml.predict({
    algorithm_name: 'remote',
    model_id,
    body: { parameters: { messages: [{ role: 'user', content: 'again' }] } },
  });
  assert.equal(by_algorithm.body.inference_results[0].output[0].dataAsMap.object, 'chat.completion');

  // Streaming predict: the client returns the SSE body as text.
  const streamed = await client.ml.predictModelStream({
    model_id,
    body: { parameters: { messages: [{ role: 'user', content: 'stream it' }], _llm_interface: 'openai/v1/chat/completions' } },
  });
  assert.equal(streamed.statusCode, 200);
  assert.match(streamed.headers['content-type'], /^text\/event-stream/);
  const chunks = String(streamed.body).split('\n\n').filter(Boolean).map((frame) => {
    assert.ok(frame.startsWith('data: '), frame);
    return JSON.parse(frame.slice(6)).inference_results[0].output[0].dataAsMap;
  });
  assert.equal(chunks.map((c) => c.content).join(''), completion_text);
  assert.deepEqual(chunks.at(-1), { content: '', is_last: true });
  assert.ok(chunks.slice(0, -1).every((c) => c.is_last === false));

  const found = await client.ml.searchModels({ body: { query: { match_all: {} } } });
  assert.equal(found.body.hits.total.value, 1);

  const undeployed = await client.ml.undeployModel({ model_id });
  assert.equal(Object.values(undeployed.body)[0].stats[model_id], 'UNDEPLOYED');
});

test('errors come back as ResponseError with the ml-commons envelope', async () => {
  await assert.rejects(client.ml.getModel({ model_id: 'does-not-exist' }), (err) => {
    assert.ok(err instanceof errors.ResponseError);
    assert.equal(err.statusCode, 404);
    assert.equal(err.body.status, 404);
    return true;
  });
  // A missing path parameter never leaves the client.
  await assert.rejects(client.ml.deployModel({}), (err) => err instanceof errors.ConfigurationError);
});
