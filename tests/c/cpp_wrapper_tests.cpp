// The C++17 wrapper (include/refresh_token_core.hpp) as a C++ server uses it, with the Linux
// real-time-clock header in the same translation unit (both use the rtc_ prefix).
#ifdef __linux__
#include <linux/rtc.h>
#endif
#include "refresh_token_core.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

const char *const kRequest = R"({"SubjectId":"alice","SessionId":"s1","AuthorizedScopes":["openid","offline_access"]})";

rtc::service one_time_service() {
    rtc::client mobile("mobile");
    mobile.allow_offline_access = 1;
    mobile.refresh_token_usage = RTC_TOKEN_USAGE_ONE_TIME_ONLY;
    return rtc::service_builder().add_client(mobile).build();
}

TEST(CppWrapper, RotatesAndAnswersALostResponseRetryWithTheSameSuccessor) {
    rtc::service svc = one_time_service();
    rtc::secret first = svc.create("mobile", kRequest);
    ASSERT_EQ(first.view().size(), 66u);

    rtc::refresh_result r = svc.refresh("mobile", first.view());
    EXPECT_TRUE(r.rotated);
    EXPECT_NE(r.handle.view(), first.view());
    EXPECT_NE(r.access_token_json.view().find("\"ClientId\":\"mobile\""), std::string_view::npos);
    EXPECT_TRUE(r.token_json.empty()) << "not asked for";

    rtc::refresh_result retry = svc.refresh("mobile", first.view(), {std::nullopt, std::nullopt, true});
    EXPECT_EQ(retry.handle.view(), r.handle.view());
    EXPECT_NE(retry.token_json.view().find("\"ClientId\":\"mobile\""), std::string_view::npos);

    rtc::owned_string record = svc.validate("mobile", r.handle.view());
    EXPECT_NE(record.view().find("\"SessionId\":\"s1\""), std::string_view::npos);
}

TEST(CppWrapper, ARefusalIsAnExceptionWithTheOAuthErrorAndReason) {
    rtc::service svc = one_time_service();
    try {
        svc.refresh("mobile", "0000000000000000000000000000000000000000000000000000000000000000-1");
        FAIL() << "an unknown token was accepted";
    } catch (const rtc::error &e) {
        EXPECT_EQ(e.code(), RTC_RESULT_INVALID_GRANT);
        EXPECT_STREQ(e.oauth_error(), "invalid_grant");
        EXPECT_EQ(e.reason(), RTC_REASON_NOT_FOUND);
        EXPECT_FALSE(e.retryable());
        EXPECT_STREQ(e.code_name(), rtc_result_name(RTC_RESULT_INVALID_GRANT));
    }
    // A caller error has no OAuth error: a bug on the host's side, not the client's.
    try {
        svc.refresh("nobody", "x");
        FAIL() << "an unknown client was accepted";
    } catch (const rtc::error &e) {
        EXPECT_EQ(e.code(), RTC_RESULT_UNKNOWN_CLIENT);
        EXPECT_EQ(e.oauth_error(), nullptr);
        EXPECT_NE(std::string(e.what()).find("nobody"), std::string::npos);
    }
}

TEST(CppWrapper, ABuilderErrorThrowsAndTheBuilderIsStillFreed) {
    rtc::service_builder b;
    EXPECT_THROW(b.successor_secret("too short"), rtc::error);
    EXPECT_THROW(b.use_sqlite("/nonexistent-folder/tokens.db"), rtc::error);
    rtc_store_options bad = rtc::store_options();
    bad.table = {"no spaces allowed", 17};
    try {
        b.use_sqlite("/tmp/rtc-wrapper-never-opened.db", bad);
        FAIL() << "a table name that is not an identifier was accepted";
    } catch (const rtc::error &e) {
        EXPECT_EQ(e.code(), RTC_RESULT_INVALID_ARGUMENT);
    }
    // A PostgreSQL server that cannot be reached: retryable, naming the server, at once.
    try {
        b.use_postgres("Host=127.0.0.1;Port=1;Username=app;Password=pw;Database=tokens");
        FAIL() << "connected to port 1";
    } catch (const rtc::error &e) {
        EXPECT_EQ(e.code(), RTC_RESULT_STORAGE_UNAVAILABLE);
        EXPECT_TRUE(e.retryable());
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:1/tokens as app"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos) << e.what();
    }
    rtc::service svc = b.build();
    EXPECT_THROW((void)b.get(), std::logic_error) << "a built builder is consumed";
    EXPECT_NE(svc.get(), nullptr);
}

TEST(CppWrapper, RevokeCleanupAndTheBuiltInSqliteStore) {
    std::string path = ::testing::TempDir() + "cpp_wrapper_tokens.db";
    std::remove(path.c_str());
    rtc::client web("web");
    web.allow_offline_access = 1;
    rtc::options o;
    rtc::service svc = rtc::service_builder(o).add_client(web).use_sqlite(path).build();
    rtc::secret h = svc.create("web", kRequest);
    EXPECT_FALSE(svc.refresh("web", h.view()).rotated) << "ReUse by default";
    EXPECT_TRUE(svc.revoke("web", h.view()));
    EXPECT_FALSE(svc.revoke("web", h.view()));
    EXPECT_THROW(svc.validate("web", h.view()), rtc::error);
    auto [expired, consumed] = svc.cleanup();
    EXPECT_EQ(expired + consumed, 0u);
#ifdef __linux__
    struct rtc_time kernel_clock_reading {};
    EXPECT_EQ(kernel_clock_reading.tm_year, 0);
#endif
}

} // namespace
