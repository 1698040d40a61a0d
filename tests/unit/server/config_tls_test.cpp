// File: config_tls_test.cpp
// The --tls-* flags and MODELRELAY_TLS_* variables: values, cross-flag rules (client auth needs a CA,
// cert and key together), repeatable --tls-admin-dn with its `;`-separated variable, and bad values.
#include <cstdlib>

#include <gtest/gtest.h>

#include "server/config.hpp"
#include "tests/unit/server/config_args.hpp"

namespace modelrelay::server {
namespace {

using test_support::parse;

// Sets a variable for one test and removes it afterwards.
class scoped_env {
public:
    scoped_env(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
    ~scoped_env() { ::unsetenv(name_); }

private:
    const char* name_;
};

TEST(config_tls, off_by_default) {
    auto out = parse({});
    ASSERT_TRUE(out.cfg);
    EXPECT_FALSE(out.cfg->tls.enabled());
    EXPECT_EQ(out.cfg->tls.client_auth, tls_client_auth::none);
    EXPECT_EQ(out.cfg->tls.mapping.username_attribute.name, "cn");
    EXPECT_EQ(out.cfg->tls.mapping.roles_attribute.name, "ou");
    EXPECT_TRUE(out.cfg->tls.mapping.admin_dns().empty());
}

TEST(config_tls, all_flags) {
    auto out = parse(
        {"--tls-cert",
         "s.pem",
         "--tls-key=s.key",
         "--tls-client-ca",
         "ca.pem",
         "--tls-client-auth",
         "REQUIRE",
         "--tls-admin-dn",
         "CN=kirk,OU=client,O=client,L=test,C=de",
         "--tls-admin-dn",
         R"(CN=b\, c,O=y)",
         "--tls-username-attribute",
         "san:EMAIL:*@example.com",
         "--tls-roles-attribute",
         "dn:o"}
    );
    ASSERT_TRUE(out.cfg) << out.message;
    const auto& t = out.cfg->tls;
    EXPECT_TRUE(t.enabled());
    EXPECT_EQ(t.cert_file, "s.pem");
    EXPECT_EQ(t.key_file, "s.key");
    EXPECT_EQ(t.client_ca_file, "ca.pem");
    EXPECT_EQ(t.client_auth, tls_client_auth::require);
    ASSERT_EQ(t.mapping.admin_dns().size(), 2U);
    EXPECT_TRUE(t.mapping.is_admin_dn("cn=kirk, ou=client, o=client, l=test, c=de"));
    EXPECT_TRUE(t.mapping.is_admin_dn(R"(CN=b\2C c,O=y)"));
    EXPECT_EQ(t.mapping.username_attribute.from, cert_attribute::source::san);
    EXPECT_EQ(t.mapping.username_attribute.glob, "*@example.com");
    EXPECT_EQ(t.mapping.roles_attribute.name, "o");
}

TEST(config_tls, empty_username_attribute_means_the_whole_dn) {
    auto out = parse({"--tls-username-attribute=", "--tls-roles-attribute", ""});
    ASSERT_TRUE(out.cfg) << out.message;
    EXPECT_EQ(out.cfg->tls.mapping.username_attribute.from, cert_attribute::source::none);
    EXPECT_EQ(out.cfg->tls.mapping.roles_attribute.from, cert_attribute::source::none);
}

TEST(config_tls, client_auth_needs_a_client_ca) {
    for (const char* mode : {"optional", "require"}) {
        auto out = parse({"--tls-cert", "s.pem", "--tls-key", "s.key", "--tls-client-auth", mode});
        EXPECT_FALSE(out.cfg);
        EXPECT_EQ(out.exit_code, 2);
        EXPECT_NE(out.message.find("--tls-client-ca"), std::string::npos) << out.message;
        EXPECT_NE(out.message.find(mode), std::string::npos) << out.message;
    }
    auto none = parse({"--tls-cert", "s.pem", "--tls-key", "s.key", "--tls-client-auth", "none"});
    EXPECT_TRUE(none.cfg) << none.message;
}

TEST(config_tls, cert_and_key_go_together) {
    auto only_cert = parse({"--tls-cert", "s.pem"});
    EXPECT_FALSE(only_cert.cfg);
    EXPECT_EQ(only_cert.exit_code, 2);
    EXPECT_NE(only_cert.message.find("--tls-key"), std::string::npos);
    auto only_key = parse({"--tls-key", "s.key"});
    EXPECT_FALSE(only_key.cfg);
    auto ca_alone = parse({"--tls-client-ca", "ca.pem"});
    EXPECT_FALSE(ca_alone.cfg);
    EXPECT_NE(ca_alone.message.find("--tls-cert"), std::string::npos);
    auto auth_alone = parse({"--tls-client-auth", "optional", "--tls-client-ca", "ca.pem"});
    EXPECT_FALSE(auth_alone.cfg);
}

TEST(config_tls, bad_values_are_refused) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"--tls-client-auth", "maybe"},
             {"--tls-admin-dn", "not a dn"},
             {"--tls-username-attribute", "san:otherName"},
             {"--tls-roles-attribute", "c n"},
             {"--tls-cert", ""},
         }) {
        auto out = parse(args);
        EXPECT_FALSE(out.cfg) << args[0] << " " << args[1];
        EXPECT_EQ(out.exit_code, 2);
        EXPECT_NE(out.message.find(args[0]), std::string::npos) << out.message;
    }
}

TEST(config_tls, environment) {
    scoped_env cert("MODELRELAY_TLS_CERT", "env.pem");
    scoped_env key("MODELRELAY_TLS_KEY", "env.key");
    scoped_env ca("MODELRELAY_TLS_CLIENT_CA", "env-ca.pem");
    scoped_env auth("MODELRELAY_TLS_CLIENT_AUTH", "optional");
    scoped_env admins("MODELRELAY_TLS_ADMIN_DN", R"(CN=kirk,O=x ; CN=semi\;colon,O=y;)");
    scoped_env user("MODELRELAY_TLS_USERNAME_ATTRIBUTE", "dn:uid");
    scoped_env roles("MODELRELAY_TLS_ROLES_ATTRIBUTE", "san:DNS");
    auto out = parse({});
    ASSERT_TRUE(out.cfg) << out.message;
    const auto& t = out.cfg->tls;
    EXPECT_EQ(t.cert_file, "env.pem");
    EXPECT_EQ(t.key_file, "env.key");
    EXPECT_EQ(t.client_ca_file, "env-ca.pem");
    EXPECT_EQ(t.client_auth, tls_client_auth::optional);
    ASSERT_EQ(t.mapping.admin_dns().size(), 2U);
    EXPECT_EQ(t.mapping.admin_dns()[0], "CN=kirk,O=x");
    EXPECT_EQ(t.mapping.admin_dns()[1], R"(CN=semi\;colon,O=y)");
    EXPECT_EQ(t.mapping.username_attribute.name, "uid");
    EXPECT_EQ(t.mapping.roles_attribute.san, san_type::dns);

    // Flags win: one --tls-admin-dn replaces the variable's whole list.
    auto flagged = parse({"--tls-admin-dn", "CN=spock,O=x"});
    ASSERT_TRUE(flagged.cfg) << flagged.message;
    ASSERT_EQ(flagged.cfg->tls.mapping.admin_dns().size(), 1U);
    EXPECT_EQ(flagged.cfg->tls.mapping.admin_dns()[0], "CN=spock,O=x");
}

TEST(config_tls, bad_environment_value_names_the_variable) {
    scoped_env auth("MODELRELAY_TLS_CLIENT_AUTH", "sometimes");
    auto out = parse({});
    EXPECT_FALSE(out.cfg);
    EXPECT_NE(out.message.find("MODELRELAY_TLS_CLIENT_AUTH"), std::string::npos);
}

TEST(config_tls, help_lists_the_flags) {
    const auto text = usage();
    for (const char* f :
         {"--tls-cert",
          "--tls-key",
          "--tls-client-ca",
          "--tls-client-auth",
          "--tls-admin-dn",
          "--tls-username-attribute",
          "--tls-roles-attribute"}) {
        EXPECT_NE(text.find(f), std::string::npos) << f;
    }
}

}  // namespace
}  // namespace modelrelay::server
