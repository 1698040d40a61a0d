// File: keyring_test.cpp
// Envelope encryption's mechanisms on real files (keyring.hpp, key_file.hpp): the KEK file (creation,
// mode and format checks), start-up resolution including every crash point of a rotation, DEK wrapping,
// the v1 value format and what its AAD binds a value to.
#include "registry/keyring.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/server_process.hpp"

namespace modelrelay::test {
namespace {

namespace fs = std::filesystem;
using registry::errc;
using registry::kek;
using registry::kek_origin;
using registry::keyring;
using registry::secret_key;
using registry::secret_site;

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_key(const fs::path& p, std::string_view data, mode_t mode = 0400) {
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    ::chmod(p.c_str(), mode);
}

std::string raw(const secret_key& k) {
    return {reinterpret_cast<const char*>(k.data()), k.size()};
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

std::set<std::string> listing(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        out.insert(e.path().filename().string());
    }
    return out;
}

// A KEK file written as an operator would (`openssl rand 32 > kek; chmod 0400 kek`).
kek operator_kek(const fs::path& p) {
    auto k = secret_key::generate();
    write_key(p, raw(k));
    return registry::make_kek(k);
}

// ---- KEK id and file ----------------------------------------------------------------------------------

TEST(keyring_kek, id_is_stable_hex_and_reveals_nothing) {
    auto k = secret_key::generate();
    const auto id = registry::kek_id_of(k);
    EXPECT_EQ(id, registry::kek_id_of(k));
    EXPECT_EQ(id.size(), 16U);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_NE(id, registry::kek_id_of(secret_key::generate()));
    // Known answer: the id of the all-zero key, so the id derivation cannot change silently (it names
    // files and is stored in the database).
    EXPECT_EQ(registry::kek_id_of(secret_key::from_bytes(std::string(32, '\0')).value()), "e4bce85dd42090a6");
}

TEST(keyring_kek, created_file_is_32_raw_bytes_mode_0400_and_never_replaced) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    auto k = registry::create_kek_file(path);
    ASSERT_TRUE(k) << k.error().reason;
    EXPECT_EQ(mode_of(path), 0400U);
    EXPECT_EQ(read_all(path), raw(k->key));
    EXPECT_EQ(listing(dir.path()), std::set<std::string>{"kek.key"});  // no temporary left behind
    auto loaded = registry::load_kek_file(path);
    ASSERT_TRUE(loaded) << loaded.error().reason;
    EXPECT_EQ(loaded->id, k->id);

    auto again = registry::create_kek_file(path);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().reason.find("already exists"), std::string::npos) << again.error().reason;
    EXPECT_EQ(read_all(path), raw(k->key));
    EXPECT_EQ(listing(dir.path()), std::set<std::string>{"kek.key"});
}

TEST(keyring_kek, file_must_be_owner_read_only) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    const auto k = secret_key::generate();
    for (mode_t bad : {0600, 0440, 0404, 0644, 0700, 0500, 04400}) {
        write_key(path, raw(k), bad);
        auto r = registry::load_kek_file(path);
        ASSERT_FALSE(r) << std::oct << bad;
        EXPECT_EQ(r.error().code, errc::illegal_state);
        EXPECT_NE(r.error().reason.find("chmod 0400 " + path.string()), std::string::npos)
            << r.error().reason;
        ::chmod(path.c_str(), 0600);
    }
    write_key(path, raw(k), 0400);
    EXPECT_TRUE(registry::load_kek_file(path));
}

TEST(keyring_kek, base64_accepted_garbage_refused_and_untouched) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    const auto k = secret_key::generate();
    write_key(path, k.to_base64() + "\n");
    auto loaded = registry::load_kek_file(path);
    ASSERT_TRUE(loaded) << loaded.error().reason;
    EXPECT_EQ(loaded->id, registry::kek_id_of(k));
    ::chmod(path.c_str(), 0600);
    write_key(path, std::string(31, 'x'));
    auto bad = registry::load_kek_file(path);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().reason.find("32 raw bytes"), std::string::npos);
    EXPECT_EQ(read_all(path), std::string(31, 'x'));
}

// ---- start-up resolution --------------------------------------------------------------------------

TEST(keyring_resolve, new_data_dir_creates_the_file_existing_file_is_adopted) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    auto created = registry::resolve_kek(path, std::nullopt);
    ASSERT_TRUE(created) << created.error().reason;
    EXPECT_EQ(created->origin, kek_origin::created);
    EXPECT_EQ(mode_of(path), 0400U);
    auto again = registry::resolve_kek(path, std::nullopt);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->origin, kek_origin::loaded);
    EXPECT_EQ(again->active.id, created->active.id);
    auto expected = registry::resolve_kek(path, created->active.id);
    ASSERT_TRUE(expected);
    EXPECT_EQ(expected->origin, kek_origin::loaded);
}

TEST(keyring_resolve, missing_file_with_data_is_an_error_and_creates_nothing) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    auto r = registry::resolve_kek(path, std::string("0123456789abcdef"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::illegal_state);
    EXPECT_NE(r.error().reason.find("is missing"), std::string::npos) << r.error().reason;
    EXPECT_NE(r.error().reason.find("0123456789abcdef"), std::string::npos);
    EXPECT_NE(r.error().reason.find("MODELRELAY_KEK_FILE"), std::string::npos);
    EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(keyring_resolve, wrong_kek_is_refused_and_changes_nothing) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    const auto wrong = operator_kek(path);
    // Another rotation's leftovers must not be mistaken for the right key either.
    const auto other = secret_key::generate();
    write_key(registry::pending_kek_path(path, registry::kek_id_of(other)), raw(other));
    const auto before = listing(dir.path());
    auto r = registry::resolve_kek(path, std::string("0123456789abcdef"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().reason.find("is not the one that wraps"), std::string::npos) << r.error().reason;
    EXPECT_NE(r.error().reason.find(wrong.id), std::string::npos);
    EXPECT_EQ(listing(dir.path()), before);
    EXPECT_EQ(read_all(path), raw(wrong.key));
}

TEST(keyring_resolve, crash_after_commit_before_renames_completes_the_rotation) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    const auto old_kek = operator_kek(path);
    const auto next = registry::make_kek(secret_key::generate());
    ASSERT_TRUE(registry::stage_kek(path, next));
    EXPECT_EQ(mode_of(registry::pending_kek_path(path, next.id)), 0400U);
    // The database committed `next` and the process died.
    auto r = registry::resolve_kek(path, next.id);
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(r->origin, kek_origin::recovered);
    EXPECT_EQ(r->active.id, next.id);
    EXPECT_EQ(read_all(path), raw(next.key));
    EXPECT_EQ(read_all(registry::retired_kek_path(path, old_kek.id)), raw(old_kek.key));
    EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"kek.key", "kek.key.retired-" + old_kek.id}));
    EXPECT_FALSE(r->notes.empty());
}

TEST(keyring_resolve, crash_between_the_two_renames_completes_the_rotation) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    const auto old_kek = operator_kek(path);
    const auto next = registry::make_kek(secret_key::generate());
    ASSERT_TRUE(registry::stage_kek(path, next));
    fs::rename(path, registry::retired_kek_path(path, old_kek.id));  // first rename done, then the crash
    auto r = registry::resolve_kek(path, next.id);
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(r->origin, kek_origin::recovered);
    EXPECT_EQ(read_all(path), raw(next.key));
    EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"kek.key", "kek.key.retired-" + old_kek.id}));
}

TEST(keyring_resolve, crash_before_commit_keeps_the_old_kek_and_drops_the_unused_pending_file) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    const auto old_kek = operator_kek(path);
    const auto next = registry::make_kek(secret_key::generate());
    ASSERT_TRUE(registry::stage_kek(path, next));
    auto r = registry::resolve_kek(path, old_kek.id);  // the database never committed `next`
    ASSERT_TRUE(r) << r.error().reason;
    EXPECT_EQ(r->origin, kek_origin::loaded);
    EXPECT_EQ(r->active.id, old_kek.id);
    EXPECT_EQ(listing(dir.path()), std::set<std::string>{"kek.key"});
}

TEST(keyring_resolve, pending_file_not_matching_its_name_is_refused) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    operator_kek(path);
    const auto impostor = secret_key::generate();
    write_key(registry::pending_kek_path(path, "0123456789abcdef"), raw(impostor));
    const auto before = listing(dir.path());
    auto r = registry::resolve_kek(path, std::string("0123456789abcdef"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().reason.find("does not hold the key it is named after"), std::string::npos);
    EXPECT_EQ(listing(dir.path()), before);
}

TEST(keyring_rotation_files, activate_moves_old_aside_and_discard_removes_pending) {
    temp_dir dir;
    const auto path = dir.path() / "kek.key";
    const auto old_kek = operator_kek(path);
    const auto next = registry::make_kek(secret_key::generate());
    ASSERT_TRUE(registry::stage_kek(path, next));
    ASSERT_TRUE(registry::activate_staged_kek(path, old_kek.id, next.id));
    EXPECT_EQ(read_all(path), raw(next.key));
    EXPECT_EQ(mode_of(path), 0400U);
    EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"kek.key", "kek.key.retired-" + old_kek.id}));

    const auto third = registry::make_kek(secret_key::generate());
    ASSERT_TRUE(registry::stage_kek(path, third));
    registry::discard_staged_kek(path, third.id);
    EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"kek.key", "kek.key.retired-" + old_kek.id}));
}

// ---- DEKs ---------------------------------------------------------------------------------------------

TEST(keyring_dek, wrap_unwrap_and_what_the_wrapping_binds) {
    const auto k = registry::make_kek(secret_key::generate());
    const auto dek = secret_key::generate();
    const auto row = registry::wrap_data_key(k, dek, "d1", "acme", 42);
    EXPECT_EQ(row.kek_id, k.id);
    EXPECT_EQ(row.tenant_id, "acme");
    EXPECT_EQ(row.created_time, 42);
    EXPECT_EQ(row.wrapped.find(dek.to_base64()), std::string::npos);
    auto back = registry::unwrap_data_key(k, row);
    ASSERT_TRUE(back) << back.error().reason;
    EXPECT_TRUE(registry::keys_equal(*back, dek));

    // A different KEK with the row relabelled, another tenant, another id: all refused.
    const auto other = registry::make_kek(secret_key::generate());
    auto relabelled = row;
    relabelled.kek_id = other.id;
    EXPECT_FALSE(registry::unwrap_data_key(other, relabelled));
    auto wrong_kek = registry::unwrap_data_key(other, row);
    ASSERT_FALSE(wrong_kek);
    EXPECT_NE(wrong_kek.error().reason.find("not by the active KEK"), std::string::npos);
    auto moved = row;
    moved.tenant_id = "globex";
    EXPECT_FALSE(registry::unwrap_data_key(k, moved));
    auto renamed = row;
    renamed.dek_id = "d2";
    EXPECT_FALSE(registry::unwrap_data_key(k, renamed));
}

// ---- values -------------------------------------------------------------------------------------------

class keyring_values : public ::testing::Test {
protected:
    keyring_values() : ring_(registry::make_kek(secret_key::generate())) {}
    std::string new_dek(std::string_view tenant, std::int64_t now = 1) {
        auto [row, dek] = ring_.generate(tenant, now);
        ring_.add(row, dek);
        return row.dek_id;
    }
    keyring ring_;
};

TEST_F(keyring_values, format_round_trip_and_fresh_nonce) {
    const auto dek = new_dek("");
    const secret_site site{"", "connector", "c1", "credential.openAI_key"};
    EXPECT_EQ(site.aad(), "|connector|c1|credential.openAI_key");
    auto v = ring_.encrypt(dek, "sk-secret", site);
    ASSERT_TRUE(v) << v.error().reason;
    EXPECT_TRUE(v->starts_with("v1:" + ring_.active_kek_id() + ":" + dek + ":")) << *v;
    EXPECT_EQ(v->find("sk-secret"), std::string::npos);
    const auto b64 = v->substr(v->rfind(':') + 1);
    EXPECT_EQ(registry::base64_decode(b64)->size(), registry::nonce_size + 9 + registry::tag_size);
    auto back = ring_.decrypt(*v, site);
    ASSERT_TRUE(back) << back.error().reason;
    EXPECT_EQ(*back, "sk-secret");
    EXPECT_NE(*ring_.encrypt(dek, "sk-secret", site), *v);
}

TEST_F(keyring_values, aad_binds_tenant_type_resource_and_field) {
    const auto dek = new_dek("acme");
    new_dek("globex");
    const secret_site site{"acme", "connector", "c1", "credential.k"};
    const auto v = ring_.encrypt(dek, "value", site).value();
    for (const secret_site& other : {
             secret_site{"globex", "connector", "c1", "credential.k"},
             secret_site{"acme", "model", "c1", "credential.k"},
             secret_site{"acme", "connector", "c2", "credential.k"},
             secret_site{"acme", "connector", "c1", "credential.j"},
         }) {
        EXPECT_FALSE(ring_.decrypt(v, other)) << other.aad();
    }
    EXPECT_TRUE(ring_.decrypt(v, site));
    // A DEK is only used for its own tenant.
    EXPECT_FALSE(ring_.encrypt(dek, "value", secret_site{"globex", "connector", "c1", "credential.k"}));
}

TEST_F(keyring_values, malformed_unknown_and_tampered_values_are_refused) {
    const auto dek = new_dek("");
    const secret_site site{"", "inference_endpoint", "e1", "secret_settings.api_key"};
    const auto v = ring_.encrypt(dek, "sk", site).value();
    for (std::string bad : {
             std::string("AQID"),  // a v0 value
             std::string("v1:"),
             std::string("v1:abc"),
             std::string("v1:abc:def"),
             std::string("v1:abc::") + v.substr(v.rfind(':') + 1),
             "v1:" + ring_.active_kek_id() + ":ffffffffffffffff:" + v.substr(v.rfind(':') + 1),
             v.substr(0, v.size() - 4) + "AAA=",
             v + "x",
         }) {
        EXPECT_FALSE(ring_.decrypt(bad, site)) << bad;
    }
    auto unknown = ring_.decrypt(
        "v1:" + ring_.active_kek_id() + ":ffffffffffffffff:" + v.substr(v.rfind(':') + 1), site
    );
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().reason.find("does not hold"), std::string::npos);
    EXPECT_EQ(unknown.error().reason.find(v.substr(v.rfind(':') + 1)), std::string::npos);
}

TEST_F(keyring_values, newest_dek_per_tenant_wins) {
    EXPECT_FALSE(ring_.dek_for("acme"));
    const auto first = new_dek("acme", 10);
    EXPECT_EQ(ring_.dek_for("acme"), first);
    const auto second = new_dek("acme", 20);
    EXPECT_EQ(ring_.dek_for("acme"), second);
    EXPECT_FALSE(ring_.dek_for(""));
    EXPECT_EQ(ring_.size(), 2U);
}

TEST_F(keyring_values, a_data_key_rotation_seals_under_a_key_added_later_and_forgets_the_old_one) {
    const auto old_dek = new_dek("acme", 10);
    new_dek("globex", 10);
    const secret_site site{"acme", "connector", "c1", "credential.k"};
    const auto before = ring_.encrypt(old_dek, "value", site).value();
    EXPECT_EQ(ring_.dek_ids_by_tenant().at("acme"), std::vector<std::string>{old_dek});

    // Sealed under the new key before the keyring knows it (the rotation commits first) ...
    auto [row, dek] = ring_.generate("acme", 20);
    const auto after = ring_.encrypt_with(row.dek_id, dek, "value", site);
    EXPECT_TRUE(after.starts_with("v1:" + ring_.active_kek_id() + ":" + row.dek_id + ":")) << after;
    EXPECT_FALSE(ring_.decrypt(after, site));  // not added yet
    // ... then added, and the old key forgotten: the new value opens, the old one no longer does.
    ring_.add(row, dek);
    ring_.remove({old_dek});
    EXPECT_EQ(ring_.decrypt(after, site).value(), "value");
    EXPECT_FALSE(ring_.decrypt(before, site));
    EXPECT_EQ(ring_.dek_for("acme"), row.dek_id);
    EXPECT_TRUE(ring_.dek_for("globex"));  // other tenants keep theirs
    EXPECT_EQ(ring_.size(), 2U);
}

TEST_F(keyring_values, rewrap_leaves_values_readable_and_the_old_kek_useless) {
    const auto dek = new_dek("acme");
    const secret_site site{"acme", "connector", "c1", "credential.k"};
    const auto before = ring_.encrypt(dek, "value", site).value();
    const auto old_id = ring_.active_kek_id();
    const auto next = registry::make_kek(secret_key::generate());
    const auto rows = ring_.rewrap_all(next);
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].kek_id, next.id);
    auto unwrapped = registry::unwrap_data_key(next, rows[0]);
    ASSERT_TRUE(unwrapped);
    EXPECT_TRUE(ring_.holds(rows[0].dek_id, *unwrapped));
    EXPECT_FALSE(ring_.holds(rows[0].dek_id, secret_key::generate()));

    ring_.set_active(next);
    EXPECT_EQ(*ring_.decrypt(before, site), "value");  // values are not rewritten
    const auto after = ring_.encrypt(dek, "value", site).value();
    EXPECT_TRUE(after.starts_with("v1:" + next.id + ":")) << after;

    // A keyring built from the rewrapped row with the retired KEK cannot load it.
    keyring stale(registry::make_kek(secret_key::generate()));
    auto relabelled = rows[0];
    relabelled.kek_id = old_id;
    EXPECT_FALSE(stale.add_wrapped(relabelled));
}

}  // namespace
}  // namespace modelrelay::test
