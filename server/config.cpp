// File: config.cpp
#include "server/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>

#include <boost/json/parse.hpp>

#include "registry/ascii.hpp"
#include "registry/json_parse.hpp"
#include "registry/json_util.hpp"

namespace modelrelay::server {

namespace {

struct flag {
    const char* name;  // --name
    const char* env;   // MODELRELAY_NAME
    const char* help;
    std::function<bool(config&, const std::string&)> set;
    // Repeatable flags: `reset` drops the environment's values at the first occurrence on the command
    // line (flags win), and the environment variable holds a list split on unescaped `list_separator`.
    std::function<void(config&)> reset = nullptr;
    char list_separator = '\0';
    // Reads the environment variable instead of the list split, when set.
    std::function<bool(config&, const std::string&)> set_env = nullptr;
};

bool parse_unsigned(const std::string& s, unsigned long long& out) {
    if (s.empty()) {
        return false;
    }
    char* end = nullptr;
    out = std::strtoull(s.c_str(), &end, 10);
    return end != nullptr && *end == '\0';
}

bool set_listen(config& c, const std::string& v) {
    const auto colon = v.rfind(':');
    if (colon == std::string::npos) {
        return false;
    }
    std::string host = v.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned long long port = 0;
    if (host.empty() || !parse_unsigned(v.substr(colon + 1), port) || port > 65535) {
        return false;
    }
    c.listen_host = host;
    c.listen_port = static_cast<std::uint16_t>(port);
    return true;
}

template <class Rep>
std::function<bool(config&, const std::string&)> millis(std::chrono::milliseconds config::*m, Rep scale) {
    return [m, scale](config& c, const std::string& v) {
        unsigned long long n = 0;
        if (!parse_unsigned(v, n)) {
            return false;
        }
        c.*m = std::chrono::milliseconds(static_cast<long long>(n) * scale);
        return true;
    };
}

std::function<bool(config&, const std::string&)> size(std::size_t config::*m) {
    return [m](config& c, const std::string& v) {
        unsigned long long n = 0;
        if (!parse_unsigned(v, n)) {
            return false;
        }
        c.*m = static_cast<std::size_t>(n);
        return true;
    };
}

bool set_file(std::string& out, const std::string& v) {
    out = v;
    return !v.empty();
}

bool set_cert_attribute(cert_attribute& out, const std::string& v) {
    auto parsed = parse_cert_attribute(v);
    if (!parsed) {
        return false;
    }
    out = std::move(*parsed);
    return true;
}

// A setting key: not empty, no whitespace.
bool valid_setting_key(std::string_view key) {
    return !key.empty() &&
           std::none_of(key.begin(), key.end(), [](unsigned char ch) { return std::isspace(ch) != 0; });
}

// Splits on `sep` unless it is escaped with a backslash (DNs escape `;` as `\;`), trimming spaces.
// KEY=VALUE. A VALUE that starts with `[` is a JSON array (a list setting: regexes may hold commas, so
// there is no comma splitting); anything else is the text itself, which the settings table reads the way
// OpenSearch reads a yml scalar ("true", "10", "^https://.*"). A repeated key: the last one wins.
bool add_node_setting(config& c, const std::string& v) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
        return false;
    }
    const std::string key = v.substr(0, eq);
    if (!valid_setting_key(key)) {
        return false;
    }
    const std::string text = v.substr(eq + 1);
    if (!text.empty() && text.front() == '[') {
        boost::system::error_code ec;
        auto parsed = registry::parse_json(text, ec);
        if (ec || !parsed.is_array()) {
            return false;
        }
        c.node_settings[key] = std::move(parsed);
        return true;
    }
    c.node_settings[key] = text;
    return true;
}

std::vector<std::string> split_list(const std::string& v, char sep) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        const auto b = cur.find_first_not_of(' ');
        const auto e = cur.find_last_not_of(' ');
        if (b != std::string::npos) {
            out.push_back(cur.substr(b, e - b + 1));
        }
        cur.clear();
    };
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            cur += v[i];
            cur += v[++i];
        } else if (v[i] == sep) {
            flush();
        } else {
            cur += v[i];
        }
    }
    flush();
    return out;
}

// MODELRELAY_SETTINGS as one JSON object, {"KEY": VALUE, ...}, for values the `;` list cannot carry (a
// JSON array whose strings hold a `;`). VALUE is a string, number or boolean (its text, as opensearch.yml
// gives it) or an array of those (a list).
bool add_node_settings_object(config& c, const std::string& v) {
    boost::system::error_code ec;
    auto parsed = registry::parse_json(v, ec);
    if (ec || !parsed.is_object()) {
        return false;
    }
    using registry::scalar_text;
    boost::json::object settings;
    for (const auto& kv : parsed.get_object()) {
        const std::string_view key = kv.key();
        if (!valid_setting_key(key)) {
            return false;
        }
        if (kv.value().is_array()) {
            boost::json::array list;
            for (const auto& e : kv.value().get_array()) {
                auto t = scalar_text(e);
                if (!t) {
                    return false;
                }
                list.emplace_back(*t);
            }
            settings[key] = std::move(list);
        } else if (auto t = scalar_text(kv.value())) {
            settings[key] = *t;
        } else {
            return false;
        }
    }
    for (auto& kv : settings) {
        c.node_settings[kv.key()] = std::move(kv.value());
    }
    return true;
}

bool add_node_settings_env(config& c, const std::string& v) {
    const auto first = v.find_first_not_of(" \t\n\r");
    if (first != std::string::npos && v[first] == '{') {
        return add_node_settings_object(c, v);
    }
    for (const auto& item : split_list(v, ';')) {
        if (!add_node_setting(c, item)) {
            return false;
        }
    }
    return true;
}

// Cross-flag rules for the HTTPS listener; "" when consistent.
std::string check_tls(const tls_settings& t) {
    if (t.cert_file.empty() != t.key_file.empty()) {
        return "--tls-cert and --tls-key must be given together";
    }
    if (!t.enabled() && !t.client_ca_file.empty()) {
        return "--tls-client-ca needs --tls-cert and --tls-key";
    }
    if (t.client_auth != tls_client_auth::none && !t.enabled()) {
        return "--tls-client-auth needs --tls-cert and --tls-key";
    }
    if (t.client_auth != tls_client_auth::none && t.client_ca_file.empty()) {
        return std::string("--tls-client-auth ") +
               (t.client_auth == tls_client_auth::optional ? "optional" : "require") +
               " needs --tls-client-ca (the CA certificates that client certificates must chain to)";
    }
    return {};
}

const std::vector<flag>& flags() {
    static const std::vector<flag> table{
        {"listen", "MODELRELAY_LISTEN", "HOST:PORT to listen on (default 127.0.0.1:9200)", set_listen},
        {"data-dir",
         "MODELRELAY_DATA_DIR",
         "directory for the database and key files (default ./data)",
         [](config& c, const std::string& v) {
             c.data_dir = v;
             return !v.empty();
         }},
        {"kek-file",
         "MODELRELAY_KEK_FILE",
         "key-encryption key file, mode 0400 (default DATA_DIR/kek.key, created on a new data dir)",
         [](config& c, const std::string& v) {
             c.kek_file = v;
             return !v.empty();
         }},
        {"threads",
         "MODELRELAY_THREADS",
         "I/O threads (default: number of cores)",
         [](config& c, const std::string& v) {
             unsigned long long n = 0;
             if (!parse_unsigned(v, n) || n > 1024) {
                 return false;
             }
             c.threads = static_cast<unsigned>(n);
             return true;
         }},
        {"busy-poll-us",
         "MODELRELAY_BUSY_POLL_US",
         "microseconds an idle I/O thread with at most 4 connections polls before it sleeps (default 30; 0: "
         "never)",
         [](config& c, const std::string& v) {
             unsigned long long n = 0;
             if (!parse_unsigned(v, n) || n > 1'000'000) {
                 return false;
             }
             c.busy_poll = std::chrono::microseconds(n);
             return true;
         }},
        {"busy-poll-upstream-us",
         "MODELRELAY_BUSY_POLL_UPSTREAM_US",
         "microseconds such a thread polls while it waits for an upstream answer's head (default 200; 0: "
         "the --busy-poll-us window)",
         [](config& c, const std::string& v) {
             unsigned long long n = 0;
             if (!parse_unsigned(v, n) || n > 1'000'000) {
                 return false;
             }
             c.busy_poll_upstream = std::chrono::microseconds(n);
             return true;
         }},
        {"startup-threads",
         "MODELRELAY_STARTUP_THREADS",
         "threads that parse the registry at start-up (default: number of cores, up to 8)",
         [](config& c, const std::string& v) {
             unsigned long long n = 0;
             if (!parse_unsigned(v, n) || n > 64) {
                 return false;
             }
             c.startup_threads = static_cast<unsigned>(n);
             return true;
         }},
        {"log-format",
         "MODELRELAY_LOG_FORMAT",
         "text|json (default text)",
         [](config& c, const std::string& v) {
             if (v == "text") {
                 c.log = log_format::text;
             } else if (v == "json") {
                 c.log = log_format::json;
             } else {
                 return false;
             }
             return true;
         }},
        {"sync",
         "MODELRELAY_SYNC",
         "normal|full: full fsyncs every commit (survives power loss)",
         [](config& c, const std::string& v) {
             if (v != "normal" && v != "full") {
                 return false;
             }
             c.sync_full = v == "full";
             return true;
         }},
        {"max-body-bytes",
         "MODELRELAY_MAX_BODY_BYTES",
         "request body limit (default 10485760)",
         size(&config::max_body_bytes)},
        {"max-connections",
         "MODELRELAY_MAX_CONNECTIONS",
         "concurrent client connections (default 10000)",
         size(&config::max_connections)},
        {"read-timeout-ms",
         "MODELRELAY_READ_TIMEOUT_MS",
         "time to receive a whole request (default 30000)",
         millis(&config::read_timeout, 1)},
        {"idle-timeout-ms",
         "MODELRELAY_IDLE_TIMEOUT_MS",
         "keep-alive idle time (default 120000)",
         millis(&config::idle_timeout, 1)},
        {"shutdown-grace-ms",
         "MODELRELAY_SHUTDOWN_GRACE_MS",
         "drain time on SIGTERM (default 10000)",
         millis(&config::shutdown_grace, 1)},
        {"cluster-name",
         "MODELRELAY_CLUSTER_NAME",
         "cluster_name reported by GET / (default modelrelay)",
         [](config& c, const std::string& v) {
             c.cluster_name = v;
             return !v.empty();
         }},
        {"multi-tenancy",
         "MODELRELAY_MULTI_TENANCY",
         "true|false: plugins.ml_commons.multi_tenancy_enabled",
         [](config& c, const std::string& v) {
             if (v != "true" && v != "false") {
                 return false;
             }
             c.multi_tenancy = v == "true";
             return true;
         }},
        {"setting",
         "MODELRELAY_SETTINGS",
         "KEY=VALUE: a node-level cluster setting, as in opensearch.yml; VALUE is text, or a JSON array "
         "for a list (repeatable; env: ;-separated, or one JSON object {\"KEY\": VALUE, ...})",
         [](config& c, const std::string& v) { return add_node_setting(c, v); },
         [](config& c) { c.node_settings.clear(); },
         ';',
         add_node_settings_env},
        {"upstream-ca-file",
         "MODELRELAY_UPSTREAM_CA_FILE",
         "extra CA certificates (PEM) trusted for HTTPS upstreams",
         [](config& c, const std::string& v) {
             c.upstream_ca_file = v;
             return true;
         }},
        {"security",
         "MODELRELAY_SECURITY",
         "auto|on|off: authentication and authorization (default auto: on unless listening on loopback)",
         [](config& c, const std::string& v) {
             if (v == "auto") {
                 c.security = security_mode::automatic;
             } else if (v == "on" || v == "true") {
                 c.security = security_mode::on;
             } else if (v == "off" || v == "false") {
                 c.security = security_mode::off;
             } else {
                 return false;
             }
             return true;
         }},
        {"allow-insecure-bind",
         "MODELRELAY_ALLOW_INSECURE_BIND",
         "true|false: allow --security off on a non-loopback listen address (default false)",
         [](config& c, const std::string& v) {
             if (v != "true" && v != "false") {
                 return false;
             }
             c.allow_insecure_bind = v == "true";
             return true;
         }},
        {"strict-write-acl",
         "MODELRELAY_STRICT_WRITE_ACL",
         "true|false: updates and deletes need the owner or an admin (default true; false = ml-commons)",
         [](config& c, const std::string& v) {
             if (v != "true" && v != "false") {
                 return false;
             }
             c.strict_write_acl = v == "true";
             return true;
         }},
        {"tls-cert",
         "MODELRELAY_TLS_CERT",
         "serve HTTPS only, with this PEM certificate chain (leaf first)",
         [](config& c, const std::string& v) {
             return set_file(c.tls.cert_file, v);
         }},
        {"tls-key",
         "MODELRELAY_TLS_KEY",
         "PEM private key for --tls-cert (unencrypted)",
         [](config& c, const std::string& v) {
             return set_file(c.tls.key_file, v);
         }},
        {"tls-client-ca",
         "MODELRELAY_TLS_CLIENT_CA",
         "PEM CA certificates that client certificates must chain to",
         [](config& c, const std::string& v) {
             return set_file(c.tls.client_ca_file, v);
         }},
        {"tls-client-auth",
         "MODELRELAY_TLS_CLIENT_AUTH",
         "none|optional|require: ask for client certificates (default none)",
         [](config& c, const std::string& v) {
             const std::string lower = registry::ascii_lower_copy(v);
             if (lower == "none") {
                 c.tls.client_auth = tls_client_auth::none;
             } else if (lower == "optional") {
                 c.tls.client_auth = tls_client_auth::optional;
             } else if (lower == "require") {
                 c.tls.client_auth = tls_client_auth::require;
             } else {
                 return false;
             }
             return true;
         }},
        {"tls-admin-dn",
         "MODELRELAY_TLS_ADMIN_DN",
         "client certificate DN that is super-admin (repeatable; env: ;-separated)",
         [](config& c, const std::string& v) { return c.tls.mapping.add_admin_dn(v); },
         [](config& c) { c.tls.mapping.clear_admin_dns(); },
         ';'},
        {"tls-username-attribute",
         "MODELRELAY_TLS_USERNAME_ATTRIBUTE",
         "certificate username: cn (default), dn:ATTR, san:EMAIL[:glob], or \"\" for the whole DN",
         [](config& c, const std::string& v) {
             return set_cert_attribute(c.tls.mapping.username_attribute, v);
         }},
        {"tls-roles-attribute",
         "MODELRELAY_TLS_ROLES_ATTRIBUTE",
         "certificate backend roles: ou (default), dn:ATTR, san:KIND[:glob], or \"\" for none",
         [](config& c, const std::string& v) {
             return set_cert_attribute(c.tls.mapping.roles_attribute, v);
         }},
        {"port-file",
         "MODELRELAY_PORT_FILE",
         "write the bound port to this file once listening",
         [](config& c, const std::string& v) {
             c.port_file = v;
             return true;
         }},
    };
    return table;
}

}  // namespace

std::string usage() {
    std::string out =
        "modelrelay: an ml-commons compatible registry and gateway for remote LLMs\n\n"
        "usage: modelrelay [--flag value | --flag=value]...\n\n";
    for (const auto& f : flags()) {
        out += "  --";
        out += f.name;
        out += std::string(20 - std::min<std::size_t>(19, std::string(f.name).size()), ' ');
        out += f.help;
        out += " [env ";
        out += f.env;
        out += "]\n";
    }
    out += "  --help              this text\n  --version           print the version\n";
    return out;
}

parse_outcome parse_config(int argc, char** argv) {
    config c;
    parse_outcome out;
    // Environment first, then flags override.
    for (const auto& f : flags()) {
        if (const char* v = std::getenv(f.env); v != nullptr && *v != '\0') {
            bool ok = true;
            if (f.set_env) {
                ok = f.set_env(c, v);
            } else if (f.list_separator != '\0') {
                for (const auto& item : split_list(v, f.list_separator)) {
                    ok = ok && f.set(c, item);
                }
            } else {
                ok = f.set(c, v);
            }
            if (!ok) {
                out.exit_code = 2;
                out.message = std::string("invalid value for ") + f.env + ": " + v + "\n";
                return out;
            }
        }
    }
    std::vector<const flag*> repeated;  // repeatable flags seen on the command line
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            out.message = usage();
            return out;
        }
        if (arg == "--version") {
            out.message = std::string("modelrelay ") + MODELRELAY_VERSION + "\n";
            return out;
        }
        if (arg.rfind("--", 0) != 0) {
            out.exit_code = 2;
            out.message = "unexpected argument: " + arg + "\n\n" + usage();
            return out;
        }
        std::string name = arg.substr(2);
        std::string value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        const flag* found = nullptr;
        for (const auto& f : flags()) {
            if (name == f.name) {
                found = &f;
            }
        }
        if (found == nullptr) {
            out.exit_code = 2;
            out.message = "unknown flag: --" + name + "\n\n" + usage();
            return out;
        }
        if (!has_value) {
            if (i + 1 >= argc) {
                out.exit_code = 2;
                out.message = "missing value for --" + name + "\n";
                return out;
            }
            value = argv[++i];
        }
        if (found->reset && std::find(repeated.begin(), repeated.end(), found) == repeated.end()) {
            found->reset(c);
            repeated.push_back(found);
        }
        if (!found->set(c, value)) {
            out.exit_code = 2;
            out.message = "invalid value for --" + name + ": " + value + "\n";
            return out;
        }
    }
    if (auto problem = check_tls(c.tls); !problem.empty()) {
        out.exit_code = 2;
        out.message = problem + "\n";
        return out;
    }
    out.cfg = std::move(c);
    return out;
}

}  // namespace modelrelay::server
