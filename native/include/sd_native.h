/*
 * sd_native.h — the C API of the sd-native core.
 *
 * Conventions (in the style of llama.h / stable-diffusion.h):
 *   - Objects are opaque handles created by `sdn_*_create` and released by the matching `sdn_*_free`
 *     (free accepts NULL and is the only way to release a handle).
 *   - Parameter structs are obtained from `sdn_*_params_init()` and then edited, so new fields can be
 *     added without breaking callers.
 *   - Every fallible call returns an `sdn_status` and, when `err` is not NULL, fills it with the same
 *     status plus a human-readable message naming the problem. Nothing aborts or asserts on user input.
 *   - There is no mutable global state: everything lives in a context. Functions are thread-safe as long
 *     as one context is not used from two threads at the same time.
 *   - The core knows nothing of Node.js; bindings/ wraps this header and nothing else.
 */
#ifndef SD_NATIVE_H
#define SD_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(SDN_BUILDING_SHARED)
#    define SDN_API __declspec(dllexport)
#  else
#    define SDN_API
#  endif
#else
#  define SDN_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------ */
/* Version                                                                                          */
/* ------------------------------------------------------------------------------------------------ */

#define SDN_VERSION_MAJOR 0
#define SDN_VERSION_MINOR 1
#define SDN_VERSION_PATCH 0

/** "MAJOR.MINOR.PATCH" of the core library. */
SDN_API const char * sdn_version(void);

/* ------------------------------------------------------------------------------------------------ */
/* Status and errors                                                                                */
/* ------------------------------------------------------------------------------------------------ */

typedef enum sdn_status {
    SDN_OK = 0,
    SDN_ERR_INVALID_ARGUMENT = 1, /* a parameter is out of range, NULL where it must not be, ... */
    SDN_ERR_OUT_OF_MEMORY = 2,    /* host or device allocation failed */
    SDN_ERR_IO = 3,               /* a file could not be opened, read or mapped */
    SDN_ERR_FORMAT = 4,           /* a file's content is malformed (truncated, bad header, hostile pickle) */
    SDN_ERR_UNSUPPORTED = 5,      /* valid input that this build cannot handle (dtype, legacy format) */
    SDN_ERR_SHAPE = 6,            /* tensor shapes do not agree */
    SDN_ERR_NOT_FOUND = 7,        /* a named tensor, component or file is missing */
    SDN_ERR_ABORTED = 8,          /* the abort callback asked to stop */
    SDN_ERR_BACKEND = 9,          /* the compute backend failed (CUDA error, missing library) */
    SDN_ERR_INTERNAL = 10         /* a bug in sd-native: please report it */
} sdn_status;

#define SDN_ERROR_MESSAGE_MAX 1024

/** Filled by every fallible call when non-NULL. `message` is NUL-terminated and empty on success. */
typedef struct sdn_error {
    sdn_status status;
    char message[SDN_ERROR_MESSAGE_MAX];
} sdn_error;

/** Stable identifier of a status, e.g. "SDN_ERR_FORMAT". Never NULL. */
SDN_API const char * sdn_status_name(sdn_status status);

/* ------------------------------------------------------------------------------------------------ */
/* Backends and build information                                                                   */
/* ------------------------------------------------------------------------------------------------ */

typedef enum sdn_backend_kind {
    SDN_BACKEND_AUTO = 0, /* CUDA when a usable device is present, else CPU (the reason is recorded) */
    SDN_BACKEND_CPU = 1,
    SDN_BACKEND_CUDA = 2
} sdn_backend_kind;

/**
 * Describes the build and the machine as a JSON object: compiled backends, CPU features and the SIMD
 * level in use, default thread count, CUDA runtime/driver status, devices, and whether cuBLASLt and
 * cuDNN could be loaded (with their versions and paths, or the reason they could not).
 * Writes at most `capacity` bytes (NUL included) into `buffer`; `*required` (if not NULL) receives the
 * size needed including the NUL. Returns SDN_ERR_INVALID_ARGUMENT if the buffer is too small.
 */
SDN_API sdn_status sdn_backend_info_json(char * buffer, size_t capacity, size_t * required, sdn_error * err);

/* ------------------------------------------------------------------------------------------------ */
/* Context: one backend, one thread pool, callbacks                                                 */
/* ------------------------------------------------------------------------------------------------ */

typedef struct sdn_context sdn_context;

/** Progress of a long operation: `step` of `total` units done (units are operation-specific). */
typedef void (*sdn_progress_callback)(int step, int total, void * user_data);

/** Polled between units of work (layers, tiles); returning non-zero stops the operation with SDN_ERR_ABORTED. */
typedef int (*sdn_abort_callback)(void * user_data);

typedef struct sdn_context_params {
    sdn_backend_kind backend;  /* default SDN_BACKEND_AUTO */
    int n_threads;             /* CPU worker threads; <= 0 means the number of online cores (default 0) */
    int device_index;          /* CUDA device ordinal (default 0) */
    int allow_fallback;        /* SDN_BACKEND_CUDA requested but unusable: 1 = fall back to CPU and record why,
                                  0 = fail with SDN_ERR_BACKEND (default 1) */
} sdn_context_params;

SDN_API sdn_context_params sdn_context_params_init(void);

SDN_API sdn_status sdn_context_create(const sdn_context_params * params, sdn_context ** out, sdn_error * err);
SDN_API void sdn_context_free(sdn_context * ctx);

/** The backend this context computes on (never AUTO). */
SDN_API sdn_backend_kind sdn_context_backend(const sdn_context * ctx);
/** Number of CPU worker threads of the context's pool. */
SDN_API int sdn_context_n_threads(const sdn_context * ctx);
/** Why the context is not on the backend that was asked for ("" when it is). Valid until the context is freed. */
SDN_API const char * sdn_context_fallback_reason(const sdn_context * ctx);
/** Bytes of host memory the context holds (thread pool, arenas, caches); bindings report it to their GC. */
SDN_API size_t sdn_context_host_memory(const sdn_context * ctx);

/** Set (or clear with NULL) the progress callback. Called on the thread that runs the operation. */
SDN_API void sdn_context_set_progress_callback(sdn_context * ctx, sdn_progress_callback cb, void * user_data);
/** Set (or clear with NULL) the abort callback. Polled on the thread that runs the operation. */
SDN_API void sdn_context_set_abort_callback(sdn_context * ctx, sdn_abort_callback cb, void * user_data);

/* ------------------------------------------------------------------------------------------------ */
/* Dense math on the context's backend                                                              */
/* ------------------------------------------------------------------------------------------------ */

/**
 * C = alpha * op(A) * op(B) + beta * C, row-major float32, op(X) = X or X^T.
 * op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in elements.
 * Reports progress in row blocks and polls the abort callback between them.
 */
SDN_API sdn_status sdn_gemm_f32(sdn_context * ctx, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                float alpha, const float * a, int64_t lda, const float * b, int64_t ldb,
                                float beta, float * c, int64_t ldc, sdn_error * err);

/**
 * Measures the backend's dense float32 GEMM throughput on square matrices of side `size` (a ceiling
 * the benchmarks report ratios against): runs for about `seconds` and writes the best GFLOP/s seen.
 */
SDN_API sdn_status sdn_measure_gemm_peak(sdn_context * ctx, int64_t size, double seconds, double * gflops,
                                         sdn_error * err);

#ifdef __cplusplus
}
#endif

#endif /* SD_NATIVE_H */
