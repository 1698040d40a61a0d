// File: crypto.cpp
// AES-256-GCM with OpenSSL EVP, the master key file, the key check value and base64. See crypto.hpp for
// the ciphertext format and the guarantees.
#include "registry/crypto.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <stdexcept>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace modelrelay::registry {

namespace {

constexpr std::size_t header_size = 1 + nonce_size;
constexpr std::string_view key_check_label = "modelrelay key check v1";

struct cipher_ctx_deleter {
    void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

// Closes a POSIX file descriptor on scope exit.
class unique_fd {
public:
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }
    int get() const noexcept { return fd_; }
    int release_and_close() noexcept {
        int rc = fd_ >= 0 ? ::close(fd_) : 0;
        fd_ = -1;
        return rc;
    }
    void reset() noexcept { (void)release_and_close(); }

private:
    int fd_;
};

[[noreturn]] void throw_openssl(const char* what) {
    throw std::runtime_error(std::string("OpenSSL: ") + what);
}

cipher_ctx_ptr new_ctx() {
    cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
    if (!ctx) {
        throw_openssl("EVP_CIPHER_CTX_new failed");
    }
    return ctx;
}

const unsigned char* bytes_of(std::string_view s) noexcept {
    return reinterpret_cast<const unsigned char*>(s.data());
}

unsigned char* bytes_of(std::string& s) noexcept {
    return reinterpret_cast<unsigned char*>(s.data());
}

// EVP takes int lengths; values handled here are far smaller, but never truncate silently.
int checked_len(std::size_t n) {
    if (n > static_cast<std::size_t>(INT32_MAX / 2)) {
        throw std::length_error("value too large to encrypt");
    }
    return static_cast<int>(n);
}

error decrypt_error(std::string reason) {
    return {errc::internal, std::move(reason)};
}
error key_error(std::string reason) {
    return {errc::illegal_state, std::move(reason)};
}

std::string errno_text(int err) {
    return std::strerror(err);
}

std::string_view trim_ascii_space(std::string_view s) noexcept {
    constexpr std::string_view ws = " \t\r\n\v\f";
    auto first = s.find_first_not_of(ws);
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = s.find_last_not_of(ws);
    return s.substr(first, last - first + 1);
}

}  // namespace

// ---- secret_key -----------------------------------------------------------------------------------

secret_key::~secret_key() {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

result<secret_key> secret_key::from_bytes(std::string_view raw) {
    if (raw.size() != key_size) {
        return illegal_argument(
            "key must be exactly " + std::to_string(key_size) + " bytes, got " + std::to_string(raw.size())
        );
    }
    secret_key k;
    std::memcpy(k.bytes_.data(), raw.data(), key_size);
    return k;
}

result<secret_key> secret_key::from_base64(std::string_view text) {
    auto raw = base64_decode(text);
    if (!raw) {
        return illegal_argument("key is not valid base64");
    }
    auto k = from_bytes(*raw);
    secure_wipe(*raw);
    return k;
}

secret_key secret_key::generate() {
    secret_key k;
    if (RAND_bytes(k.bytes_.data(), static_cast<int>(k.bytes_.size())) != 1) {
        throw_openssl("RAND_bytes failed");
    }
    return k;
}

std::string secret_key::to_base64() const {
    return base64_encode({reinterpret_cast<const char*>(bytes_.data()), bytes_.size()});
}

// ---- cipher ---------------------------------------------------------------------------------------

std::string cipher::encrypt(std::string_view plaintext, std::string_view associated_data) const {
    std::string blob(header_size + plaintext.size() + tag_size, '\0');
    unsigned char* out = bytes_of(blob);
    out[0] = ciphertext_version;
    unsigned char* nonce = out + 1;
    if (RAND_bytes(nonce, static_cast<int>(nonce_size)) != 1) {
        throw_openssl("RAND_bytes failed");
    }

    auto ctx = new_ctx();
    int len = 0;
    if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce_size), nullptr) != 1 ||
        EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1) {
        throw_openssl("AES-256-GCM encrypt init failed");
    }
    if (!associated_data.empty() &&
        EVP_EncryptUpdate(
            ctx.get(), nullptr, &len, bytes_of(associated_data), checked_len(associated_data.size())
        ) != 1) {
        throw_openssl("AES-256-GCM associated data failed");
    }
    unsigned char* ct = out + header_size;
    int ct_len = 0;
    if (!plaintext.empty()) {
        if (EVP_EncryptUpdate(ctx.get(), ct, &len, bytes_of(plaintext), checked_len(plaintext.size())) != 1) {
            throw_openssl("AES-256-GCM encrypt failed");
        }
        ct_len = len;
    }
    if (EVP_EncryptFinal_ex(ctx.get(), ct + ct_len, &len) != 1) {
        throw_openssl("AES-256-GCM encrypt final failed");
    }
    ct_len += len;
    if (static_cast<std::size_t>(ct_len) != plaintext.size() ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size), ct + ct_len) != 1) {
        throw_openssl("AES-256-GCM tag failed");
    }
    return base64_encode(blob);
}

result<std::string> cipher::decrypt(std::string_view encoded, std::string_view associated_data) const {
    auto blob = base64_decode(encoded);
    if (!blob) {
        return decrypt_error("ciphertext is not valid base64");
    }
    if (blob->size() < header_size + tag_size) {
        return decrypt_error("ciphertext is too short");
    }
    const auto* in = bytes_of(*blob);
    if (in[0] != ciphertext_version) {
        return decrypt_error("unsupported ciphertext version " + std::to_string(in[0]));
    }
    const unsigned char* nonce = in + 1;
    const unsigned char* ct = in + header_size;
    const std::size_t ct_size = blob->size() - header_size - tag_size;
    // EVP_CTRL_GCM_SET_TAG takes a non-const pointer although it only reads the tag.
    std::array<unsigned char, tag_size> tag{};
    std::memcpy(tag.data(), ct + ct_size, tag_size);

    auto ctx = new_ctx();
    int len = 0;
    if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce_size), nullptr) != 1 ||
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1) {
        throw_openssl("AES-256-GCM decrypt init failed");
    }
    if (!associated_data.empty() &&
        EVP_DecryptUpdate(
            ctx.get(), nullptr, &len, bytes_of(associated_data), checked_len(associated_data.size())
        ) != 1) {
        throw_openssl("AES-256-GCM associated data failed");
    }
    std::string plaintext(ct_size, '\0');
    int pt_len = 0;
    if (ct_size > 0) {
        if (EVP_DecryptUpdate(ctx.get(), bytes_of(plaintext), &len, ct, checked_len(ct_size)) != 1) {
            secure_wipe(plaintext);
            throw_openssl("AES-256-GCM decrypt failed");
        }
        pt_len = len;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size), tag.data()) != 1) {
        secure_wipe(plaintext);
        throw_openssl("AES-256-GCM set tag failed");
    }
    // Final verifies the tag; until it succeeds the plaintext is unauthenticated and must not escape.
    if (EVP_DecryptFinal_ex(ctx.get(), bytes_of(plaintext) + pt_len, &len) != 1) {
        secure_wipe(plaintext);
        return decrypt_error(
            "ciphertext authentication failed (wrong key, wrong associated data or tampered data)"
        );
    }
    return plaintext;
}

// ---- master key -----------------------------------------------------------------------------------

namespace {

result<secret_key> key_from_env(std::string_view value) {
    const std::string name(master_key_env);
    auto text = trim_ascii_space(value);
    if (text.empty()) {
        return key_error(name + " is set but empty");
    }
    auto raw = base64_decode(text);
    if (!raw) {
        return key_error(name + " is not valid base64 (expected the base64 encoding of 32 random bytes)");
    }
    if (raw->size() != key_size) {
        auto n = raw->size();
        secure_wipe(*raw);
        return key_error(
            name + " must be the base64 encoding of exactly 32 bytes, but it decodes to " +
            std::to_string(n) + " bytes"
        );
    }
    auto k = secret_key::from_bytes(*raw);
    secure_wipe(*raw);
    return k;
}

// Reads the whole file; the caller has already checked it is a regular file.
result<std::string> read_file(const std::filesystem::path& path) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return key_error("cannot open master key file " + path.string() + ": " + errno_text(errno));
    }
    std::string data;
    char buf[256];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno;
            secure_wipe(data);
            OPENSSL_cleanse(buf, sizeof buf);
            return key_error("cannot read master key file " + path.string() + ": " + errno_text(err));
        }
        if (n == 0) {
            break;
        }
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > 4096) {  // no key file is this large; do not read an arbitrary file into memory
            break;
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return data;
}

result<secret_key> key_from_file_contents(std::string& contents, const std::filesystem::path& path) {
    if (contents.size() == key_size) {
        return secret_key::from_bytes(contents);
    }
    auto raw = base64_decode(trim_ascii_space(contents));
    if (raw && raw->size() == key_size) {
        auto k = secret_key::from_bytes(*raw);
        secure_wipe(*raw);
        return k;
    }
    if (raw) {
        secure_wipe(*raw);
    }
    return key_error(
        "master key file " + path.string() + " must contain 32 raw bytes or their base64 encoding (found " +
        std::to_string(contents.size()) +
        " bytes that are neither); refusing to start and leaving the file untouched. Restore the original "
        "key file, or set " +
        std::string(master_key_env)
    );
}

result<void> write_all(int fd, std::string_view data, const std::filesystem::path& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return key_error("cannot write " + path.string() + ": " + errno_text(errno));
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// Moves `from` to `to` unless `to` exists. rename() alone would silently replace a key file that another
// process created a moment ago, and two processes would then encrypt under different keys.
int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
    int rc = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
        // The file system does not support RENAME_NOREPLACE: a hard link is also atomic and never replaces.
        rc = ::link(from.c_str(), to.c_str());
        if (rc == 0) {
            ::unlink(from.c_str());
        }
    }
    return rc;
}

result<secret_key> create_key_file(const std::filesystem::path& dir, const std::filesystem::path& path) {
    auto key = secret_key::generate();
    std::string text = key.to_base64() + "\n";

    std::string tmpl = (dir / (std::string(master_key_file_name) + ".tmp.XXXXXX")).string();
    unique_fd fd(::mkostemp(tmpl.data(), O_CLOEXEC));  // mkostemp creates the file with mode 0600
    if (fd.get() < 0) {
        int err = errno;
        secure_wipe(text);
        return key_error("cannot create master key file in " + dir.string() + ": " + errno_text(err));
    }
    const std::filesystem::path tmp = tmpl;
    auto fail = [&](std::string reason) -> result<secret_key> {
        secure_wipe(text);
        fd.reset();
        ::unlink(tmp.c_str());
        return key_error(std::move(reason));
    };
    if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) {
        return fail("cannot chmod " + tmp.string() + ": " + errno_text(errno));
    }
    if (auto w = write_all(fd.get(), text, tmp); !w) {
        return fail(w.error().reason);
    }
    if (::fsync(fd.get()) != 0) {
        return fail("cannot fsync " + tmp.string() + ": " + errno_text(errno));
    }
    if (fd.release_and_close() != 0) {
        return fail("cannot close " + tmp.string() + ": " + errno_text(errno));
    }
    if (rename_no_replace(tmp, path) != 0) {
        int err = errno;
        secure_wipe(text);
        ::unlink(tmp.c_str());
        if (err == EEXIST) {
            return key_error(
                "master key file " + path.string() + " appeared while it was being created; restart"
            );
        }
        return key_error(
            "cannot move master key file into place at " + path.string() + ": " + errno_text(err)
        );
    }
    secure_wipe(text);
    // Make the new directory entry durable too, or a crash could lose the key while data encrypted under
    // it survives.
    unique_fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
        return key_error("cannot fsync directory " + dir.string() + ": " + errno_text(errno));
    }
    return key;
}

}  // namespace

result<master_key> load_master_key(
    std::optional<std::string_view> env_value, const std::filesystem::path& data_dir
) {
    if (env_value) {
        auto k = key_from_env(*env_value);
        if (!k) {
            return k.error();
        }
        return master_key{*k, master_key_origin::environment, {}};
    }

    const std::filesystem::path path = data_dir / master_key_file_name;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            return key_error("master key path " + path.string() + " exists but is not a regular file");
        }
        auto contents = read_file(path);
        if (!contents) {
            return contents.error();
        }
        auto k = key_from_file_contents(*contents, path);
        secure_wipe(*contents);
        if (!k) {
            return k.error();
        }
        return master_key{*k, master_key_origin::file, path};
    }
    if (errno != ENOENT) {
        return key_error("cannot access master key file " + path.string() + ": " + errno_text(errno));
    }
    auto k = create_key_file(data_dir, path);
    if (!k) {
        return k.error();
    }
    return master_key{*k, master_key_origin::generated, path};
}

result<master_key> load_master_key(const std::filesystem::path& data_dir) {
    const std::string name(master_key_env);
    const char* env = std::getenv(name.c_str());
    return load_master_key(env ? std::optional<std::string_view>(env) : std::nullopt, data_dir);
}

std::string key_check_value(const secret_key& key) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_len = 0;
    if (HMAC(
            EVP_sha256(),
            key.data(),
            static_cast<int>(key.size()),
            bytes_of(key_check_label),
            key_check_label.size(),
            mac.data(),
            &mac_len
        ) == nullptr) {
        throw_openssl("HMAC-SHA-256 failed");
    }
    return base64_encode({reinterpret_cast<const char*>(mac.data()), mac_len});
}

result<void> verify_key_check_value(const secret_key& key, std::string_view stored) {
    const std::string expected = key_check_value(key);
    if (stored.size() != expected.size() ||
        CRYPTO_memcmp(stored.data(), expected.data(), expected.size()) != 0) {
        return key_error(
            "master key does not match the key check value stored with the data: wrong " +
            std::string(master_key_env) + " or " + std::string(master_key_file_name) +
            "? Refusing to start, as stored credentials could not be decrypted"
        );
    }
    return {};
}

// ---- helpers --------------------------------------------------------------------------------------

void secure_wipe(std::string& s) noexcept {
    // resize() to capacity cannot allocate, so this stays noexcept in practice; it makes the whole buffer
    // part of the string so that cleansing it is well defined.
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    if (!bytes.empty()) {
        int n = EVP_EncodeBlock(bytes_of(out), bytes_of(bytes), checked_len(bytes.size()));
        out.resize(static_cast<std::size_t>(n));
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    if (text.empty()) {
        return std::string();
    }
    std::string out(text.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(bytes_of(out), bytes_of(text), checked_len(text.size()));
    if (n < 0) {
        return std::nullopt;
    }
    // EVP_DecodeBlock counts padding as zero bytes, tolerates whitespace and ignores non-zero trailing
    // bits. Re-encoding and comparing rejects all of that and leaves exactly one accepted spelling.
    std::size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    out.resize(static_cast<std::size_t>(n) - pad);
    std::string again = base64_encode(out);
    if (again != text) {
        secure_wipe(out);
        secure_wipe(again);
        return std::nullopt;
    }
    secure_wipe(again);
    return out;
}

std::string base64url_encode(std::string_view bytes) {
    std::string s = base64_encode(bytes);
    while (!s.empty() && s.back() == '=') {
        s.pop_back();
    }
    for (char& c : s) {
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    return s;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    std::string s;
    s.reserve(text.size() + 2);
    for (char c : text) {
        if (c == '+' || c == '/') {  // standard-alphabet characters are not URL-safe base64
            return std::nullopt;
        }
        s.push_back(c == '-' ? '+' : c == '_' ? '/' : c);
    }
    if (s.size() % 4 == 1) {
        return std::nullopt;
    }
    if (s.find('=') == std::string::npos) {
        s.append((4 - s.size() % 4) % 4, '=');
    }
    auto out = base64_decode(s);
    secure_wipe(s);
    return out;
}

}  // namespace modelrelay::registry
