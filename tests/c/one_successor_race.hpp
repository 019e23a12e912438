// The one-successor race, shared by the C++ suites: rounds of 8 threads refreshing one fresh
// one-time token at once. A round is bad unless every thread succeeded, all got the same handle,
// and the store holds exactly one live token per chain (this round's and one per earlier round).
#pragma once

#include <gtest/gtest.h>

#include "refresh_token_core.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

// create() -> a new handle; refresh(handle, &next) -> rtc_result; live() -> live refresh tokens.
template <typename Create, typename Refresh, typename Live>
int bad_race_rounds(int rounds, Create create, Refresh refresh, Live live) {
    int bad_rounds = 0;
    for (int round = 0; round < rounds; ++round) {
        const std::string handle = create();
        std::vector<std::string> answers(8);
        std::vector<rtc_result> results(8);
        std::atomic<int> ready{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&, t] {
                ready++;
                while (ready.load() < 8) std::this_thread::yield();
                results[t] = refresh(handle, &answers[t]);
            });
        }
        for (auto &th : threads) th.join();
        std::set<std::string> distinct(answers.begin(), answers.end());
        bool all_ok = std::all_of(results.begin(), results.end(), [](rtc_result r) { return r == RTC_RESULT_OK; });
        size_t now_live = live();
        if (!all_ok || distinct.size() != 1 || now_live != static_cast<size_t>(round + 1)) {
            if (bad_rounds++ == 0)
                ADD_FAILURE() << "round " << round << ": all ok " << all_ok << ", distinct " << distinct.size()
                              << ", live " << now_live;
        }
    }
    return bad_rounds;
}
