// File: fake_upstream.cpp
// The fake remote model server: a Beast accept loop and one coroutine per connection on a private
// io_context thread, the OpenAI default replies, and the fault scripts. Faults act on the raw socket
// (RST via SO_LINGER 0) so the client sees exactly what a crashing upstream would produce.
#include "tests/support/fake_upstream.hpp"

#include <cerrno>
#include <cstdint>
#include <exception>
#include <sstream>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tests/support/test_ca.hpp"

namespace modelrelay::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::awaitable;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::int64_t fake_created = 1700000000;

std::string openai_error(std::string_view message, std::string_view type = "invalid_request_error") {
    json::object err{{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
    return json::serialize(json::object{{"error", std::move(err)}});
}

std::string chunk_event(const std::string& model, json::object delta, json::value finish_reason) {
    json::object choice{
        {"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish_reason)}};
    json::object chunk{
        {"id", "chatcmpl-fake"},
        {"object", "chat.completion.chunk"},
        {"created", fake_created},
        {"model", model},
        {"choices", json::array{std::move(choice)}}};
    return "data: " + json::serialize(chunk) + "\n\n";
}

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> out;
    std::istringstream in{std::string(text)};
    for (std::string w; in >> w;) {
        out.push_back(w);
    }
    return out;
}

std::vector<std::string> stream_events(
    const std::string& model, const std::vector<std::string>& words, bool usage, std::int64_t prompt_tokens
) {
    std::vector<std::string> events;
    events.push_back(chunk_event(model, json::object{{"role", "assistant"}, {"content", ""}}, nullptr));
    for (std::size_t i = 0; i < words.size(); ++i) {
        events.push_back(
            chunk_event(model, json::object{{"content", (i == 0 ? "" : " ") + words[i]}}, nullptr)
        );
    }
    events.push_back(chunk_event(model, json::object{}, "stop"));
    if (usage) {
        const auto completion = static_cast<std::int64_t>(words.size());
        json::object chunk{
            {"id", "chatcmpl-fake"},
            {"object", "chat.completion.chunk"},
            {"created", fake_created},
            {"model", model},
            {"choices", json::array{}},
            {"usage",
             {{"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion},
              {"total_tokens", prompt_tokens + completion}}}};
        events.push_back("data: " + json::serialize(chunk) + "\n\n");
    }
    events.push_back("data: [DONE]\n\n");
    return events;
}

std::int64_t count_prompt_tokens(const json::value& messages) {
    std::int64_t n = 0;
    if (const auto* arr = messages.if_array()) {
        for (const auto& m : *arr) {
            if (const auto* obj = m.if_object()) {
                if (const auto* content = obj->if_contains("content"); content && content->is_string()) {
                    n += static_cast<std::int64_t>(split_words(content->as_string()).size());
                }
            }
        }
    }
    return std::max<std::int64_t>(n, 1);
}

fake_reply chat_completion(const recorded_request& r) {
    boost::system::error_code ec;
    const json::value body = json::parse(r.body, ec);
    if (ec || !body.is_object()) {
        return fake_reply::json(400, openai_error("We could not parse the JSON body of your request."));
    }
    const auto& obj = body.as_object();
    std::string model(default_model_id);
    if (const auto* m = obj.if_contains("model"); m && m->is_string()) {
        model = std::string(m->as_string());
    }
    const json::value* messages = obj.if_contains("messages");
    const std::int64_t prompt_tokens = messages ? count_prompt_tokens(*messages) : 1;
    const auto words = split_words(default_completion_text);
    const json::value* stream = obj.if_contains("stream");
    if (stream && stream->is_bool() && stream->as_bool()) {
        bool usage = false;
        if (const auto* so = obj.if_contains("stream_options"); so && so->is_object()) {
            if (const auto* u = so->as_object().if_contains("include_usage"); u && u->is_bool()) {
                usage = u->as_bool();
            }
        }
        return fake_reply::sse(stream_events(model, words, usage, prompt_tokens));
    }
    const auto completion = static_cast<std::int64_t>(words.size());
    json::object message{{"role", "assistant"}, {"content", default_completion_text}};
    json::object choice{
        {"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr}, {"finish_reason", "stop"}};
    json::object out{
        {"id", "chatcmpl-fake"},
        {"object", "chat.completion"},
        {"created", fake_created},
        {"model", model},
        {"choices", json::array{std::move(choice)}},
        {"usage",
         {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", prompt_tokens + completion}}}};
    return fake_reply::json(200, json::serialize(out));
}

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

fake_reply embeddings(const recorded_request& r) {
    boost::system::error_code ec;
    const json::value body = json::parse(r.body, ec);
    if (ec || !body.is_object() || !body.as_object().contains("input")) {
        return fake_reply::json(400, openai_error("'input' is a required property"));
    }
    const auto& obj = body.as_object();
    std::string model(default_model_id);
    if (const auto* m = obj.if_contains("model"); m && m->is_string()) {
        model = std::string(m->as_string());
    }
    std::int64_t dims = 8;
    if (const auto* d = obj.if_contains("dimensions"); d && d->is_int64() && d->as_int64() > 0) {
        dims = d->as_int64();
    }
    std::vector<std::string> inputs;
    const json::value& input = obj.at("input");
    if (input.is_string()) {
        inputs.emplace_back(input.as_string());
    } else if (input.is_array()) {
        for (const auto& item : input.as_array()) {
            inputs.push_back(item.is_string() ? std::string(item.as_string()) : json::serialize(item));
        }
    }
    json::array data;
    std::int64_t tokens = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        json::array vec;
        std::uint64_t h = fnv1a(inputs[i]);
        for (std::int64_t j = 0; j < dims; ++j) {
            h = h * 6364136223846793005ull + 1442695040888963407ull;
            vec.push_back(static_cast<double>(h >> 40) / static_cast<double>(1ull << 24) - 0.5);
        }
        tokens += static_cast<std::int64_t>(std::max<std::size_t>(split_words(inputs[i]).size(), 1));
        data.push_back(json::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(vec)}});
    }
    json::object out{
        {"object", "list"},
        {"data", std::move(data)},
        {"model", model},
        {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
    return fake_reply::json(200, json::serialize(out));
}

fake_reply models() {
    json::object model{
        {"id", default_model_id},
        {"object", "model"},
        {"created", fake_created},
        {"owned_by", "modelrelay-test"}};
    return fake_reply::json(
        200, json::serialize(json::object{{"object", "list"}, {"data", json::array{std::move(model)}}})
    );
}

std::optional<fake_reply> openai_default(const recorded_request& r) {
    if (r.method == "POST" && r.path() == "/v1/chat/completions") {
        return chat_completion(r);
    }
    if (r.method == "POST" && r.path() == "/v1/embeddings") {
        return embeddings(r);
    }
    if (r.method == "GET" && r.path() == "/v1/models") {
        return models();
    }
    return std::nullopt;
}

void reset_socket(tcp::socket& s) {
    boost::system::error_code ec;
    s.set_option(asio::socket_base::linger(true, 0), ec);
    s.close(ec);
}

void close_socket(tcp::socket& s) {
    boost::system::error_code ec;
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
}

}  // namespace

// ---- recorded_request / fake_reply ------------------------------------------------------------------

std::string_view recorded_request::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (beast::iequals(k, name)) {
            return v;
        }
    }
    return {};
}

std::string_view recorded_request::path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

fake_reply fake_reply::json(unsigned status, std::string body) {
    fake_reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

fake_reply fake_reply::text(unsigned status, std::string body, std::string content_type) {
    fake_reply r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    return r;
}

fake_reply fake_reply::empty(unsigned status) {
    fake_reply r;
    r.status = status;
    return r;
}

fake_reply fake_reply::server_error(unsigned status) {
    return json(
        status, openai_error("The server had an error while processing your request.", "server_error")
    );
}

fake_reply fake_reply::too_many_requests(std::string retry_after) {
    fake_reply r = json(429, openai_error("Rate limit reached for requests", "requests"));
    if (!retry_after.empty()) {
        r.headers.emplace_back("Retry-After", std::move(retry_after));
    }
    return r;
}

fake_reply fake_reply::not_json(unsigned status) {
    return text(status, "<html><body>Bad Gateway from a proxy</body></html>", "text/html");
}

fake_reply fake_reply::oversized(std::size_t bytes, unsigned status) {
    std::string body;
    body.reserve(bytes);
    body += '"';
    body.append(bytes > 2 ? bytes - 2 : 0, 'x');
    body += '"';
    return json(status, std::move(body));
}

fake_reply fake_reply::sse(std::vector<std::string> events, std::chrono::milliseconds between) {
    fake_reply r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.chunks = std::move(events);
    r.delay_between_chunks = between;
    return r;
}

fake_reply fake_reply::openai_stream(
    const std::vector<std::string>& words, std::chrono::milliseconds between
) {
    return sse(stream_events(std::string(default_model_id), words, false, 1), between);
}

fake_reply fake_reply::close_without_response() {
    fake_reply r;
    r.failure = fault::close_without_response;
    return r;
}

fake_reply fake_reply::reset_before_response() {
    fake_reply r;
    r.failure = fault::reset_before_response;
    return r;
}

fake_reply fake_reply::reset_mid_response() {
    fake_reply r = json(
        200,
        R"({"id":"chatcmpl-fake","object":"chat.completion","padding":")" + std::string(4000, 'p') + R"("})"
    );
    r.failure = fault::reset_mid_response;
    return r;
}

fake_reply&& fake_reply::with_delay(std::chrono::milliseconds d) && {
    delay_before_headers = d;
    return std::move(*this);
}

fake_reply&& fake_reply::with_header(std::string name, std::string value) && {
    headers.emplace_back(std::move(name), std::move(value));
    return std::move(*this);
}

fake_reply&& fake_reply::with_close() && {
    close_after = true;
    return std::move(*this);
}

fake_reply&& fake_reply::with_fault(fault f) && {
    failure = f;
    return std::move(*this);
}

// ---- server -----------------------------------------------------------------------------------------

struct fake_upstream::impl {
    asio::io_context ioc{1};
    std::optional<asio::ssl::context> tls;
    tcp::acceptor acceptor{ioc};

    struct tls_peer {
        std::string server_name;
        std::string client_subject;
    };
    template <class Stream>
    static awaitable<void> serve(
        fake_upstream& self, Stream& stream, tcp::socket& raw, std::size_t id, const tls_peer& peer
    );
    static awaitable<void> session(fake_upstream& self, impl& im, tcp::socket sock, std::size_t id);
    static awaitable<void> accept_loop(fake_upstream& self, impl& im);
};

namespace {

int accept_server_name(SSL*, int*, void*) {
    return SSL_TLSEXT_ERR_OK;
}

std::string rfc2253(X509_NAME* name) {
    BIO* bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

// Waits out a reply's delay_before_headers or delay_between_chunks, unless the client closes the connection
// first: true then. A
// client that gives up on a slow answer closes (a gateway whose own client left does too); a real server
// would only notice at its next write, but the tests want to see it as it happens. Bytes from the client
// meanwhile are not an end: only EOF or an error is, seen with a peek that consumes nothing.
awaitable<bool> client_left_during(tcp::socket& raw, std::chrono::milliseconds delay) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(delay);
    while (true) {
        auto first = co_await (t.async_wait(use_tuple) || raw.async_wait(tcp::socket::wait_read, use_tuple));
        if (first.index() == 0) {
            co_return false;
        }
        char byte = 0;
        const auto n = ::recv(raw.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            co_return true;
        }
        if (n > 0) {
            co_await t.async_wait(use_tuple);  // it sent something: still there, and not watched further
            co_return false;
        }
    }
}

// Counts the connection as closed however the session coroutine ends (including io_context teardown).
struct close_counter {
    std::function<void()> on_close;
    ~close_counter() { on_close(); }
};

template <class Fields>
void apply_headers(Fields& res, const fake_reply& reply, bool has_body) {
    bool has_content_type = false;
    for (const auto& [k, v] : reply.headers) {
        has_content_type = has_content_type || beast::iequals(k, "content-type");
        res.insert(k, v);
    }
    if (!has_content_type && has_body && !reply.content_type.empty()) {
        res.set(http::field::content_type, reply.content_type);
    }
}

}  // namespace

template <class Stream>
awaitable<void> fake_upstream::impl::serve(
    fake_upstream& self, Stream& stream, tcp::socket& raw, std::size_t id, const tls_peer& peer
) {
    beast::flat_buffer buffer;
    while (true) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(std::uint64_t{1} << 31);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (ec) {
            co_return;
        }
        auto& req = parser.get();
        recorded_request rec;
        rec.method = std::string(req.method_string());
        rec.target = std::string(req.target());
        for (const auto& f : req) {
            rec.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        }
        rec.body = req.body();
        rec.connection_id = id;
        rec.received_at = std::chrono::steady_clock::now();
        rec.tls_server_name = peer.server_name;
        rec.client_cert_subject = peer.client_subject;
        const bool request_keep_alive = req.keep_alive();
        const unsigned version = req.version();
        fake_reply reply = self.choose(rec);
        self.on_request(std::move(rec));

        if (reply.delay_before_headers.count() > 0) {
            const bool left = co_await client_left_during(raw, reply.delay_before_headers);
            if (left) {
                self.on_abandoned();
                close_socket(raw);
                co_return;
            }
        }
        if (reply.failure == fake_reply::fault::close_without_response) {
            close_socket(raw);
            co_return;
        }
        if (reply.failure == fake_reply::fault::reset_before_response) {
            reset_socket(raw);
            co_return;
        }
        const bool keep = request_keep_alive && !reply.close_after;
        if (reply.chunks.empty()) {
            http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
            apply_headers(res, reply, !reply.body.empty());
            res.body() = reply.body;
            res.keep_alive(keep);
            res.prepare_payload();
            if (reply.failure == fake_reply::fault::reset_mid_response) {
                http::response_serializer<http::string_body> sr(res);
                auto [hec, hn] = co_await http::async_write_header(stream, sr, use_tuple);
                if (!hec) {
                    co_await asio::async_write(
                        stream, asio::buffer(reply.body.data(), reply.body.size() / 2), use_tuple
                    );
                }
                reset_socket(raw);
                co_return;
            }
            auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
            if (wec) {
                co_return;
            }
        } else {
            http::response<http::empty_body> res{static_cast<http::status>(reply.status), version};
            apply_headers(res, reply, true);
            res.keep_alive(keep);
            res.chunked(true);
            http::response_serializer<http::empty_body> sr(res);
            auto [hec, hn] = co_await http::async_write_header(stream, sr, use_tuple);
            if (hec) {
                co_return;
            }
            const std::size_t send = reply.failure == fake_reply::fault::reset_mid_response
                                         ? reply.chunks.size() / 2
                                         : reply.chunks.size();
            for (std::size_t i = 0; i < send; ++i) {
                if (reply.delay_between_chunks.count() > 0) {
                    const bool left = co_await client_left_during(raw, reply.delay_between_chunks);
                    if (left) {
                        self.on_abandoned();
                        close_socket(raw);
                        co_return;
                    }
                }
                auto [cec, cn] = co_await asio::async_write(
                    stream, http::make_chunk(asio::buffer(reply.chunks[i])), use_tuple
                );
                if (cec) {
                    co_return;  // the client went away
                }
            }
            if (reply.failure == fake_reply::fault::reset_mid_response) {
                reset_socket(raw);
                co_return;
            }
            auto [lec, ln] = co_await asio::async_write(stream, http::make_chunk_last(), use_tuple);
            if (lec) {
                co_return;
            }
        }
        if (!keep) {
            close_socket(raw);
            co_return;
        }
    }
}

awaitable<void> fake_upstream::impl::session(
    fake_upstream& self, impl& im, tcp::socket sock, std::size_t id
) {
    close_counter counter{[&self] {
        self.on_close();
    }};
    if (im.tls) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(sock), *im.tls);
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
        if (ec) {
            self.on_handshake_failure();
            co_return;
        }
        tls_peer peer;
        SSL* ssl = stream.native_handle();
        if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
            peer.server_name = sni;
        }
        if (X509* cert = SSL_get0_peer_certificate(ssl)) {
            peer.client_subject = rfc2253(X509_get_subject_name(cert));
        }
        co_await serve(self, stream, beast::get_lowest_layer(stream).socket(), id, peer);
    } else {
        beast::tcp_stream stream(std::move(sock));
        const tls_peer none;  // named: gcc 12 destroys temporaries inside co_await expressions twice
        co_await serve(self, stream, stream.socket(), id, none);
    }
}

awaitable<void> fake_upstream::impl::accept_loop(fake_upstream& self, impl& im) {
    while (true) {
        auto [ec, sock] = co_await im.acceptor.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || !im.acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            continue;
        }
        const std::size_t id = self.on_accept();
        auto run = session(self, im, std::move(sock), id);
        asio::co_spawn(im.ioc, std::move(run), [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);  // a bug in the fake: fail loudly
            }
        });
    }
}

fake_upstream::fake_upstream(fake_upstream_options options)
    : options_(std::move(options)), impl_(std::make_unique<impl>()) {
    if (options_.tls) {
        const auto& cert = options_.certificate ? *options_.certificate : test_ca::instance().localhost();
        impl_->tls.emplace(asio::ssl::context::tls_server);
        impl_->tls->use_certificate_chain(asio::buffer(cert.cert_pem));
        impl_->tls->use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
        // Acknowledge SNI so SSL_get_servername reports what the client sent, in TLS 1.2 too.
        SSL_CTX_set_tlsext_servername_callback(impl_->tls->native_handle(), accept_server_name);
        if (options_.client_ca_pem) {
            impl_->tls->add_certificate_authority(asio::buffer(*options_.client_ca_pem));
            impl_->tls->set_verify_mode(
                asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert |
                asio::ssl::verify_client_once
            );
        }
    }
    const tcp::endpoint ep(asio::ip::make_address(options_.address), 0);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen(asio::socket_base::max_listen_connections);
    port_ = impl_->acceptor.local_endpoint().port();
    asio::co_spawn(impl_->ioc, impl::accept_loop(*this, *impl_), [](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
    });
    thread_ = std::thread([this] { impl_->ioc.run(); });
}

fake_upstream::~fake_upstream() {
    impl_->ioc.stop();
    thread_.join();
    impl_.reset();  // destroys the session frames (counting their connections as closed) while we still exist
}

std::string fake_upstream::base_url() const {
    const bool v6 = options_.address.find(':') != std::string::npos;
    return std::string(options_.tls ? "https://" : "http://") +
           (v6 ? "[" + options_.address + "]" : options_.address) + ":" + std::to_string(port_);
}

std::string fake_upstream::url(std::string_view path) const {
    return base_url() + std::string(path);
}

void fake_upstream::enqueue(fake_reply reply) {
    std::lock_guard lock(mutex_);
    any_queue_.push_back(std::move(reply));
}

void fake_upstream::enqueue(std::string path, fake_reply reply) {
    std::lock_guard lock(mutex_);
    path_queue_.emplace_back(std::move(path), std::move(reply));
}

void fake_upstream::route(std::string path, fake_reply reply) {
    std::lock_guard lock(mutex_);
    routes_.emplace_back(std::move(path), std::move(reply));
}

void fake_upstream::set_handler(handler h) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(h);
}

void fake_upstream::clear_scripts() {
    std::lock_guard lock(mutex_);
    path_queue_.clear();
    any_queue_.clear();
    routes_.clear();
    handler_ = nullptr;
}

fake_reply fake_upstream::choose(const recorded_request& r) {
    handler h;
    {
        std::lock_guard lock(mutex_);
        for (auto it = path_queue_.begin(); it != path_queue_.end(); ++it) {
            if (it->first == r.path()) {
                fake_reply reply = std::move(it->second);
                path_queue_.erase(it);
                return reply;
            }
        }
        if (!any_queue_.empty()) {
            fake_reply reply = std::move(any_queue_.front());
            any_queue_.erase(any_queue_.begin());
            return reply;
        }
        h = handler_;
    }
    if (h) {
        if (auto reply = h(r)) {
            return std::move(*reply);
        }
    }
    {
        std::lock_guard lock(mutex_);
        for (auto it = routes_.rbegin(); it != routes_.rend(); ++it) {
            if (it->first == r.path()) {
                return it->second;
            }
        }
    }
    if (options_.openai_defaults) {
        if (auto reply = openai_default(r)) {
            return std::move(*reply);
        }
    }
    return fake_reply::json(
        404, openai_error("Unknown request URL: " + r.method + " " + std::string(r.path()))
    );
}

std::size_t fake_upstream::on_accept() {
    std::lock_guard lock(mutex_);
    const std::size_t id = ++accepted_;
    changed_.notify_all();
    return id;
}

void fake_upstream::on_abandoned() {
    std::lock_guard lock(mutex_);
    ++abandoned_;
    changed_.notify_all();
}

std::size_t fake_upstream::abandoned_count() const {
    std::lock_guard lock(mutex_);
    return abandoned_;
}

void fake_upstream::on_close() {
    std::lock_guard lock(mutex_);
    ++closed_;
    changed_.notify_all();
}

void fake_upstream::on_request(recorded_request r) {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(r));
    changed_.notify_all();
}

std::vector<recorded_request> fake_upstream::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::size_t fake_upstream::request_count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
}

std::optional<recorded_request> fake_upstream::last_request() const {
    std::lock_guard lock(mutex_);
    if (requests_.empty()) {
        return std::nullopt;
    }
    return requests_.back();
}

void fake_upstream::on_handshake_failure() {
    std::lock_guard lock(mutex_);
    ++handshake_failures_;
    changed_.notify_all();
}

std::size_t fake_upstream::handshake_failure_count() const {
    std::lock_guard lock(mutex_);
    return handshake_failures_;
}

std::size_t fake_upstream::connection_count() const {
    std::lock_guard lock(mutex_);
    return accepted_;
}

std::size_t fake_upstream::closed_connection_count() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

void fake_upstream::clear_requests() {
    std::lock_guard lock(mutex_);
    requests_.clear();
}

bool fake_upstream::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

bool fake_upstream::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return accepted_ >= n; });
}

bool fake_upstream::wait_for_closed_connections(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return closed_ >= n; });
}

}  // namespace modelrelay::test
