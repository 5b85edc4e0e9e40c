#include "test_framework.h"

#include <cstring>
#include <exception>

namespace sdn_test {

namespace {
int g_failures_in_case = 0;
bool g_skipped = false;
}  // namespace

std::vector<Case> & registry() {
    static std::vector<Case> cases;
    return cases;
}

void record_failure(const char * file, int line, const std::string & message) {
    ++g_failures_in_case;
    std::fprintf(stderr, "    %s:%d: %s\n", file, line, message.c_str());
}

void skip(const std::string & reason) {
    g_skipped = true;
    std::printf("    skipped: %s\n", reason.c_str());
}

}  // namespace sdn_test

int main(int argc, char ** argv) {
    const char * filter = argc > 1 ? argv[1] : "";
    int passed = 0, failed = 0, skipped = 0;
    for (auto & c : sdn_test::registry()) {
        if (*filter && c.name.find(filter) == std::string::npos) continue;
        sdn_test::g_failures_in_case = 0;
        sdn_test::g_skipped = false;
        std::printf("[ RUN  ] %s\n", c.name.c_str());
        std::fflush(stdout);
        try {
            c.body();
        } catch (const std::exception & e) {
            sdn_test::record_failure(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
        } catch (...) {
            sdn_test::record_failure(__FILE__, __LINE__, "uncaught non-standard exception");
        }
        if (sdn_test::g_failures_in_case > 0) {
            ++failed;
            std::printf("[ FAIL ] %s\n", c.name.c_str());
        } else if (sdn_test::g_skipped) {
            ++skipped;
            std::printf("[ SKIP ] %s\n", c.name.c_str());
        } else {
            ++passed;
            std::printf("[  OK  ] %s\n", c.name.c_str());
        }
    }
    std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
}
