// A minimal test framework for the native test binary (sdn_tests): TEST(name) registers a case,
// CHECK/CHECK_NEAR record failures without stopping the case. `sdn_tests [filter]` runs the cases whose
// name contains the filter and ends with the line "N passed, N failed, N skipped".
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace sdn_test {

struct Case {
    std::string name;
    std::function<void()> body;
};

std::vector<Case> & registry();
void record_failure(const char * file, int line, const std::string & message);
// Marks the running case as skipped (with a reason printed), e.g. when no GPU is present.
void skip(const std::string & reason);

struct Registrar {
    Registrar(const char * name, std::function<void()> body) { registry().push_back({name, std::move(body)}); }
};

}  // namespace sdn_test

#define SDN_TEST_CAT2(a, b) a##b
#define SDN_TEST_CAT(a, b) SDN_TEST_CAT2(a, b)
#define TEST(name)                                                                                  \
    static void SDN_TEST_CAT(test_fn_, name)();                                                     \
    static sdn_test::Registrar SDN_TEST_CAT(test_reg_, name)(#name, SDN_TEST_CAT(test_fn_, name));  \
    static void SDN_TEST_CAT(test_fn_, name)()

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) sdn_test::record_failure(__FILE__, __LINE__, "CHECK(" #cond ") failed"); \
    } while (0)

#define CHECK_MSG(cond, msg)                                                                          \
    do {                                                                                              \
        if (!(cond)) sdn_test::record_failure(__FILE__, __LINE__, std::string("CHECK(" #cond ") failed: ") + (msg)); \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                        \
    do {                                                                                             \
        const double sdn_a_ = (a), sdn_b_ = (b);                                                     \
        if (!(std::fabs(sdn_a_ - sdn_b_) <= (tol))) {                                                \
            char sdn_buf_[256];                                                                      \
            std::snprintf(sdn_buf_, sizeof sdn_buf_, "CHECK_NEAR(" #a ", " #b ") failed: %.9g vs %.9g (tol %.3g)", \
                          sdn_a_, sdn_b_, static_cast<double>(tol));                                \
            sdn_test::record_failure(__FILE__, __LINE__, sdn_buf_);                                  \
        }                                                                                            \
    } while (0)
