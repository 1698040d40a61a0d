// File: harness.mjs
// What every client test needs, kept hermetic (127.0.0.1 only, temporary data directory):
//  - start_server(): the real modelrelay binary (path in MODELRELAY_BINARY, set by ctest) on port 0;
//  - start_fake_upstream(): an OpenAI-compatible fake upstream in this process (chat completions with
//    and without `stream`, embeddings, models), recording every request;
//  - setup helpers that register connectors and models through modelrelay's REST API.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const completion_text = 'Hello from the node fake upstream.';
export const api_key = 'sk-client-tests-sentinel';

// ---------------------------------------------------------------------------------------------------
// modelrelay

export async function start_server() {
  const binary = process.env.MODELRELAY_BINARY;
  if (!binary || !fs.existsSync(binary)) {
    throw new Error('MODELRELAY_BINARY must name the modelrelay binary (ctest sets it; run `make test`)');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelrelay-clients-'));
  const port_file = path.join(dir, 'port');
  const log_file = path.join(dir, 'server.log');
  const log = fs.openSync(log_file, 'w');
  const child = spawn(
    binary,
    ['--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'), '--port-file', port_file],
    { stdio: ['ignore', log, log] },
  );
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  for (let i = 0; i < 600 && !fs.existsSync(port_file); ++i) {
    if (exited !== null) break;
    await sleep(50);
  }
  const text = fs.existsSync(port_file) ? fs.readFileSync(port_file, 'utf8').trim() : '';
  if (!text) {
    child.kill('SIGKILL');
    throw new Error('modelrelay did not start:\n' + fs.readFileSync(log_file, 'utf8'));
  }
  const url = `http://127.0.0.1:${Number(text)}`;
  return {
    url,
    log: () => fs.readFileSync(log_file, 'utf8'),
    async stop() {
      if (exited === null) {
        const done = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await done;
      }
      fs.closeSync(log);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A JSON request to modelrelay; returns {status, body}.
export async function call(server, method, target, body) {
  const res = await fetch(server.url + target, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

async function ok(server, method, target, body) {
  const r = await call(server, method, target, body);
  if (r.status !== 200) throw new Error(`${method} ${target} → ${r.status} ${r.text}`);
  return r.body;
}

// Trust every endpoint and allow private addresses: the fake upstream listens on 127.0.0.1.
export async function open_settings(server, extra = {}) {
  return ok(server, 'PUT', '/_cluster/settings', {
    persistent: {
      'plugins.ml_commons.trusted_connector_endpoints_regex': ['.*$'],
      'plugins.ml_commons.connector.private_ip_enabled': true,
      ...extra,
    },
  });
}

// The ollama / open_ai chat blueprint connector pointed at the fake upstream.
export function chat_connector(upstream, extra_parameters = {}) {
  return {
    name: 'OpenAI chat (fake upstream)',
    description: 'client tests',
    version: '1',
    protocol: 'http',
    parameters: { endpoint: upstream.host, model: 'gpt-upstream', ...extra_parameters },
    credential: { openAI_key: api_key },
    actions: [{
      action_type: 'predict',
      method: 'POST',
      url: 'http://${parameters.endpoint}/v1/chat/completions',
      headers: { Authorization: 'Bearer ${credential.openAI_key}' },
      request_body: '{ "model": "${parameters.model}", "messages": ${parameters.messages} }',
    }],
  };
}

// The openai_connector_embedding_blueprint connector pointed at the fake upstream.
export function embedding_connector(upstream) {
  return {
    name: 'OpenAI embedding (fake upstream)',
    description: 'client tests',
    version: '1',
    protocol: 'http',
    parameters: { model: 'text-embedding-3-small' },
    credential: { openAI_key: api_key },
    actions: [{
      action_type: 'predict',
      method: 'POST',
      url: upstream.url + '/v1/embeddings',
      headers: { Authorization: 'Bearer ${credential.openAI_key}' },
      request_body: '{ "input": ${parameters.input}, "model": "${parameters.model}" }',
      pre_process_function: 'connector.pre_process.openai.embedding',
      post_process_function: 'connector.post_process.openai.embedding',
    }],
  };
}

// Creates `connector` and registers a deployed model `name` on it; returns the model id.
export async function deployed_model(server, connector, name) {
  const { connector_id } = await ok(server, 'POST', '/_plugins/_ml/connectors/_create', connector);
  const r = await ok(server, 'POST', '/_plugins/_ml/models/_register?deploy=true', {
    name, function_name: 'remote', connector_id,
  });
  return r.model_id;
}

// ---------------------------------------------------------------------------------------------------
// Fake OpenAI upstream

const words = completion_text.split(' ');

function chunk(model, delta, finish_reason = null) {
  return {
    id: 'chatcmpl-node', object: 'chat.completion.chunk', created: 1700000000, model,
    choices: [{ index: 0, delta, finish_reason }],
  };
}

// Deterministic vectors whose values are exact in float32 (k / 2^12 - 0.5), so base64 round trips.
function vector_of(text, dims) {
  let h = 2166136261;
  for (const c of Buffer.from(text)) h = Math.imul(h ^ c, 16777619) >>> 0;
  const out = [];
  for (let i = 0; i < dims; ++i) {
    h = (Math.imul(h, 1103515245) + 12345) >>> 0;
    out.push((h >>> 20) / 4096 - 0.5);
  }
  return out;
}

export function expected_vector(text) { return vector_of(text, 8); }

export async function start_fake_upstream() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const json = (status, obj) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      let parsed = {};
      try { parsed = body ? JSON.parse(body) : {}; } catch {
        return json(400, { error: { message: 'bad json', type: 'invalid_request_error', param: null, code: null } });
      }
      const model = parsed.model || 'fake-model';
      if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        const prompt_tokens = Math.max(1, (parsed.messages || [])
          .map((m) => (typeof m.content === 'string' ? m.content.split(' ').filter(Boolean).length : 0))
          .reduce((a, b) => a + b, 0));
        const usage = { prompt_tokens, completion_tokens: words.length, total_tokens: prompt_tokens + words.length };
        if (parsed.stream === true) {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          const events = [chunk(model, { role: 'assistant', content: '' })];
          words.forEach((w, i) => events.push(chunk(model, { content: (i ? ' ' : '') + w })));
          events.push(chunk(model, {}, 'stop'));
          if (parsed.stream_options?.include_usage) events.push({ ...chunk(model, {}), choices: [], usage });
          for (const e of events) {
            res.write('data: ' + JSON.stringify(e) + '\n\n');
            await sleep(5);
          }
          res.end('data: [DONE]\n\n');
          return;
        }
        return json(200, {
          id: 'chatcmpl-node', object: 'chat.completion', created: 1700000000, model,
          choices: [{ index: 0, message: { role: 'assistant', content: completion_text }, logprobs: null, finish_reason: 'stop' }],
          usage,
        });
      }
      if (req.method === 'POST' && req.url === '/v1/embeddings') {
        const inputs = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
        return json(200, {
          object: 'list', model,
          data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: vector_of(String(t), 8) })),
          usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
        });
      }
      json(404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error', param: null, code: null } });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
