// C API contract: params_init defaults, create/free, status + message on bad input, fallback reason.
#include "sd_native.h"
#include "test_framework.h"

#include <cstring>
#include <string>
#include <vector>

TEST(context_params_init_defaults) {
    sdn_context_params p = sdn_context_params_init();
    CHECK(p.backend == SDN_BACKEND_AUTO);
    CHECK(p.n_threads == 0);
    CHECK(p.device_index == 0);
    CHECK(p.allow_fallback == 1);
}

TEST(context_cpu_create_and_free) {
    sdn_context_params p = sdn_context_params_init();
    p.backend = SDN_BACKEND_CPU;
    p.n_threads = 3;
    sdn_context * ctx = nullptr;
    sdn_error err;
    CHECK(sdn_context_create(&p, &ctx, &err) == SDN_OK);
    CHECK(err.status == SDN_OK);
    CHECK(ctx != nullptr);
    CHECK(sdn_context_backend(ctx) == SDN_BACKEND_CPU);
    CHECK(sdn_context_n_threads(ctx) == 3);
    CHECK(std::string(sdn_context_fallback_reason(ctx)).empty());
    CHECK(sdn_context_host_memory(ctx) > 0);
    sdn_context_free(ctx);
    sdn_context_free(nullptr);  // free accepts NULL
}

TEST(context_rejects_bad_params_with_message) {
    sdn_context_params p = sdn_context_params_init();
    p.backend = static_cast<sdn_backend_kind>(42);
    sdn_context * ctx = reinterpret_cast<sdn_context *>(0x1);
    sdn_error err;
    CHECK(sdn_context_create(&p, &ctx, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(err.status == SDN_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(err.message, "unknown backend") != nullptr);
    CHECK(ctx == nullptr);
    CHECK(sdn_context_create(&p, nullptr, nullptr) == SDN_ERR_INVALID_ARGUMENT);
}

TEST(context_auto_without_gpu_falls_back_with_reason) {
    std::vector<char> buf(1 << 16);
    size_t need = 0;
    CHECK(sdn_backend_info_json(buf.data(), buf.size(), &need, nullptr) == SDN_OK);
    const bool usable = std::strstr(buf.data(), "\"usable\":true") != nullptr;
    sdn_context * ctx = nullptr;
    sdn_context_params p = sdn_context_params_init();
    CHECK(sdn_context_create(&p, &ctx, nullptr) == SDN_OK);
    if (usable) {
        CHECK(sdn_context_backend(ctx) == SDN_BACKEND_CUDA);
    } else {
        CHECK(sdn_context_backend(ctx) == SDN_BACKEND_CPU);
        CHECK(std::strstr(sdn_context_fallback_reason(ctx), "using the CPU backend") != nullptr);
    }
    sdn_context_free(ctx);
}

TEST(context_cuda_without_fallback_fails_when_unusable) {
    std::vector<char> buf(1 << 16);
    CHECK(sdn_backend_info_json(buf.data(), buf.size(), nullptr, nullptr) == SDN_OK);
    if (std::strstr(buf.data(), "\"usable\":true") != nullptr) {
        sdn_test::skip("a CUDA device is usable here");
        return;
    }
    sdn_context_params p = sdn_context_params_init();
    p.backend = SDN_BACKEND_CUDA;
    p.allow_fallback = 0;
    sdn_context * ctx = nullptr;
    sdn_error err;
    CHECK(sdn_context_create(&p, &ctx, &err) == SDN_ERR_BACKEND);
    CHECK(std::strstr(err.message, "CUDA backend is not usable") != nullptr);
    CHECK(ctx == nullptr);
}

TEST(backend_info_json_reports_buffer_size) {
    size_t need = 0;
    char tiny[4];
    sdn_error err;
    CHECK(sdn_backend_info_json(tiny, sizeof tiny, &need, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(need > 100);
    std::vector<char> buf(need);
    CHECK(sdn_backend_info_json(buf.data(), buf.size(), nullptr, nullptr) == SDN_OK);
    CHECK(buf[0] == '{');
    CHECK(std::strstr(buf.data(), "\"compiledBackends\"") != nullptr);
    CHECK(std::strstr(buf.data(), "\"simdInUse\"") != nullptr);
}

TEST(status_names_are_stable) {
    CHECK(std::string(sdn_status_name(SDN_OK)) == "SDN_OK");
    CHECK(std::string(sdn_status_name(SDN_ERR_FORMAT)) == "SDN_ERR_FORMAT");
    CHECK(std::string(sdn_status_name(static_cast<sdn_status>(999))) == "SDN_ERR_UNKNOWN");
    CHECK(std::string(sdn_version()) == "0.1.0");
}
