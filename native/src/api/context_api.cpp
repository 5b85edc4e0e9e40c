// C API: contexts (backend selection with fallback, thread pool, callbacks).
#include "core/context.h"
#include "core/error.h"
#include "cuda/cuda_backend.h"

#include <string>

using namespace sdn;

extern "C" {

sdn_context_params sdn_context_params_init(void) {
    sdn_context_params p;
    p.backend = SDN_BACKEND_AUTO;
    p.n_threads = 0;
    p.device_index = 0;
    p.allow_fallback = 1;
    p.weight_precision = SDN_WEIGHTS_DEFAULT;
    return p;
}

sdn_status sdn_context_create(const sdn_context_params * params, sdn_context ** out, sdn_error * err) {
    return guarded(err, [&] {
        require(out != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_context_create: out is NULL");
        *out = nullptr;
        const sdn_context_params p = params != nullptr ? *params : sdn_context_params_init();
        require(p.backend == SDN_BACKEND_AUTO || p.backend == SDN_BACKEND_CPU || p.backend == SDN_BACKEND_CUDA,
                SDN_ERR_INVALID_ARGUMENT, "sdn_context_create: unknown backend " + std::to_string(static_cast<int>(p.backend)));
        require(p.n_threads <= 1024, SDN_ERR_INVALID_ARGUMENT,
                "sdn_context_create: n_threads " + std::to_string(p.n_threads) + " is above the limit of 1024");
        require(p.device_index >= 0, SDN_ERR_INVALID_ARGUMENT, "sdn_context_create: device_index must be >= 0");
        require(p.weight_precision >= SDN_WEIGHTS_DEFAULT && p.weight_precision <= SDN_WEIGHTS_F32, SDN_ERR_INVALID_ARGUMENT,
                "sdn_context_create: unknown weight_precision " + std::to_string(static_cast<int>(p.weight_precision)));

        auto ctx = std::make_unique<sdn_context>();
        ctx->pool = std::make_unique<ThreadPool>(p.n_threads > 0 ? p.n_threads : hardware_threads());
        if (p.backend != SDN_BACKEND_CPU) {
            std::string reason;
            CudaBackendOptions options = cuda_backend_options_from_env();
            if (p.weight_precision == SDN_WEIGHTS_F16) options.weights = CudaBackendOptions::Weights::F16;
            if (p.weight_precision == SDN_WEIGHTS_F32) options.weights = CudaBackendOptions::Weights::F32;
            ctx->backend = make_cuda_backend_with_options(p.device_index, *ctx->pool, options, reason);
            if (!ctx->backend) {
                if (p.backend == SDN_BACKEND_CUDA && !p.allow_fallback)
                    fail(SDN_ERR_BACKEND, "the CUDA backend is not usable: " + reason);
                ctx->fallback_reason = "using the CPU backend: " + reason;
            }
        }
        if (!ctx->backend) ctx->backend = make_cpu_backend(*ctx->pool);
        *out = ctx.release();
    });
}

void sdn_context_free(sdn_context * ctx) { delete ctx; }

sdn_backend_kind sdn_context_backend(const sdn_context * ctx) {
    return ctx != nullptr && ctx->backend ? ctx->backend->kind() : SDN_BACKEND_CPU;
}

int sdn_context_n_threads(const sdn_context * ctx) { return ctx != nullptr && ctx->pool ? ctx->pool->size() : 0; }

const char * sdn_context_backend_description(sdn_context * ctx) {
    if (ctx == nullptr || !ctx->backend) return "";
    try {
        ctx->description = ctx->backend->name();
    } catch (...) {
        ctx->description.clear();
    }
    return ctx->description.c_str();
}

const char * sdn_context_fallback_reason(const sdn_context * ctx) {
    return ctx != nullptr ? ctx->fallback_reason.c_str() : "";
}

size_t sdn_context_host_memory(const sdn_context * ctx) {
    if (ctx == nullptr) return 0;
    // Thread stacks are the pool's main cost (8 MiB reserved each by default, mostly untouched).
    size_t bytes = sizeof(sdn_context) + static_cast<size_t>(ctx->pool ? ctx->pool->size() : 0) * 64 * 1024;
    if (ctx->backend) bytes += ctx->backend->host_memory();
    return bytes;
}

sdn_status sdn_context_memory_stats(const sdn_context * ctx, sdn_memory_stats * out, sdn_error * err) {
    return guarded(err, [&] {
        require(ctx != nullptr && ctx->backend, SDN_ERR_INVALID_ARGUMENT, "sdn_context_memory_stats: ctx is NULL");
        require(out != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_context_memory_stats: out is NULL");
        const MemoryStats m = ctx->backend->memory_stats();
        out->in_use_bytes = m.in_use;
        out->peak_bytes = m.peak;
        out->reserved_bytes = m.reserved;
    });
}

void sdn_context_reset_peak_memory(sdn_context * ctx) {
    if (ctx != nullptr && ctx->backend) ctx->backend->reset_peak_memory();
}

double sdn_context_flops(const sdn_context * ctx) { return ctx != nullptr && ctx->backend ? ctx->backend->flops() : 0.0; }

void sdn_context_reset_flops(sdn_context * ctx) {
    if (ctx != nullptr && ctx->backend) ctx->backend->reset_flops();
}

void sdn_context_set_progress_callback(sdn_context * ctx, sdn_progress_callback cb, void * user_data) {
    if (ctx == nullptr) return;
    ctx->control.progress = cb;
    ctx->control.progress_user = user_data;
}

void sdn_context_set_abort_callback(sdn_context * ctx, sdn_abort_callback cb, void * user_data) {
    if (ctx == nullptr) return;
    ctx->control.abort_cb = cb;
    ctx->control.abort_user = user_data;
}

}  // extern "C"
