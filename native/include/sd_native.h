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

/** How a GPU backend stores linear / convolution weights (the CPU reads weights as the file stores them,
 *  f32/f16/bf16, and always computes in float32). */
typedef enum sdn_weight_precision {
    SDN_WEIGHTS_DEFAULT = 0, /* f16 on CUDA (tensor cores), unless SDN_CUDA_WEIGHTS says otherwise */
    SDN_WEIGHTS_F16 = 1,
    SDN_WEIGHTS_F32 = 2
} sdn_weight_precision;

typedef struct sdn_context_params {
    sdn_backend_kind backend;  /* default SDN_BACKEND_AUTO */
    int n_threads;             /* CPU worker threads; <= 0 means the number of online cores (default 0) */
    int device_index;          /* CUDA device ordinal (default 0) */
    int allow_fallback;        /* SDN_BACKEND_CUDA requested but unusable: 1 = fall back to CPU and record why,
                                  0 = fail with SDN_ERR_BACKEND (default 1) */
    sdn_weight_precision weight_precision; /* GPU weight storage (default SDN_WEIGHTS_DEFAULT) */
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
/** What the context's backend runs, e.g. "cuda:0 (NVIDIA H100 ..., sm_90; weights f16; linear: cuBLASLt 13.0.0 ...;
 *  conv2d: cuDNN 9.10.0 ...; CUDA graphs: on (1 recorded))" or the CPU's SIMD level. The string stays valid until
 *  the next call with the same context. */
SDN_API const char * sdn_context_backend_description(sdn_context * ctx);
/** Bytes of host memory the context holds (thread pool, arenas, caches); bindings report it to their GC. */
SDN_API size_t sdn_context_host_memory(const sdn_context * ctx);

/** Memory of the context's backend, in bytes (device memory on CUDA). */
typedef struct sdn_memory_stats {
    size_t in_use_bytes;   /* held by tensors, weights and scratch right now (CUDA: pool blocks handed out,
                              weights included; CPU: backend allocations, i.e. activation arenas and weights
                              widened to f32; weights read in place from mapped files are not counted) */
    size_t peak_bytes;     /* highest in_use_bytes since the context was created or the last
                              sdn_context_reset_peak_memory */
    size_t reserved_bytes; /* taken from the system allocator (CUDA: cudaMalloc'd, i.e. in use plus the pool's
                              cache of free blocks; CPU: equal to in_use_bytes) */
} sdn_memory_stats;

/** Fills `out` with the backend's memory figures. SDN_ERR_INVALID_ARGUMENT when ctx or out is NULL. */
SDN_API sdn_status sdn_context_memory_stats(const sdn_context * ctx, sdn_memory_stats * out, sdn_error * err);
/** Starts a new peak: peak_bytes becomes the current in_use_bytes (e.g. before timing one stage). */
SDN_API void sdn_context_reset_peak_memory(sdn_context * ctx);

/** Floating-point operations of the matrix ops (GEMM/linear, convolution, attention; 2 per multiply-add) run
 *  on this context since creation or the last reset: divide by time for achieved FLOP/s. */
SDN_API double sdn_context_flops(const sdn_context * ctx);
SDN_API void sdn_context_reset_flops(sdn_context * ctx);

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

/**
 * Measures the throughput of the matmul path the networks use (a linear layer of side `size` with an
 * F16 weight uploaded like model weights: f16 tensor cores on CUDA by default, the packed GEMM on the
 * CPU), timed to completion on the device: the ceiling network benchmarks report ratios against.
 * Writes the best GFLOP/s over about `seconds`. size in [16, 16384].
 */
SDN_API sdn_status sdn_measure_linear_peak(sdn_context * ctx, int64_t size, double seconds, double * gflops,
                                           sdn_error * err);

/* ------------------------------------------------------------------------------------------------ */
/* Weight files: safetensors and PyTorch zip checkpoints (.ckpt / .bin / .pt), read-only, mmap'd   */
/* ------------------------------------------------------------------------------------------------ */

/** Element types found in weight files. Only F32, F16 and BF16 are accepted as weights; the others can be
 *  listed and inspected (goldens, step counters) but sdn_weight_file_get_weight refuses them. */
typedef enum sdn_dtype {
    SDN_DTYPE_F32 = 0,
    SDN_DTYPE_F16 = 1,
    SDN_DTYPE_BF16 = 2,
    SDN_DTYPE_F64 = 3,
    SDN_DTYPE_I64 = 4,
    SDN_DTYPE_I32 = 5,
    SDN_DTYPE_I16 = 6,
    SDN_DTYPE_I8 = 7,
    SDN_DTYPE_U8 = 8,
    SDN_DTYPE_BOOL = 9
} sdn_dtype;

/** The safetensors spelling of a dtype ("F32", "BF16", "BOOL", ...); "?" for an unknown value. Never NULL. */
SDN_API const char * sdn_dtype_name(sdn_dtype dtype);
/** Bytes per element (BOOL = 1); 0 for an unknown value. */
SDN_API size_t sdn_dtype_size(sdn_dtype dtype);

#define SDN_MAX_DIMS 8

typedef struct sdn_weight_file sdn_weight_file;

typedef enum sdn_weight_format {
    SDN_WEIGHT_FORMAT_SAFETENSORS = 0,
    SDN_WEIGHT_FORMAT_TORCH_ZIP = 1 /* torch.save zip archive (>= 1.6): .ckpt, .bin, .pt, .pth */
} sdn_weight_format;

/** One tensor of a weight file. Pointers stay valid until the file is freed. */
typedef struct sdn_tensor_info {
    const char * name;
    sdn_dtype dtype;
    int ndim;                      /* 0 (scalar) .. SDN_MAX_DIMS */
    int64_t shape[SDN_MAX_DIMS];   /* entries past ndim are 0 */
    uint64_t nbytes;               /* product(shape) * sdn_dtype_size(dtype) */
    const void * data;             /* read-only, little-endian, row-major contiguous; NULL when nbytes is 0.
                                      A view into the file's memory map (no copy); non-contiguous torch
                                      tensors are the exception (copied once into a contiguous buffer at
                                      open). Aligned to the element size when the file aligns its data
                                      (safetensors with the usual 8-byte padded header; torch's 64-byte
                                      aligned zip entries); hostile files may not be, so read via memcpy
                                      if you cannot trust the producer. */
} sdn_tensor_info;

/**
 * Opens a weight file read-only. The format is detected from the content, not the extension:
 * a zip archive is a torch checkpoint (needs `<archive>/data.pkl`; a Lightning checkpoint's nested
 * `state_dict` is unwrapped), a pickle at the file start is the legacy torch format (SDN_ERR_UNSUPPORTED),
 * anything else must be safetensors. The header (or pickle) is fully validated before anything is
 * returned; failures are SDN_ERR_IO / SDN_ERR_FORMAT / SDN_ERR_UNSUPPORTED with a message naming the file
 * and the tensor or field. Torch pickles are read by a restricted unpickler that only builds data (it can
 * run no code) and refuses every global outside the torch state-dict allowlist.
 */
SDN_API sdn_status sdn_weight_file_open(const char * path, sdn_weight_file ** out, sdn_error * err);
SDN_API void sdn_weight_file_free(sdn_weight_file * file);

SDN_API sdn_weight_format sdn_weight_file_format(const sdn_weight_file * file);
/** Number of tensors (0 for NULL). Order: safetensors header order / state-dict insertion order. */
SDN_API size_t sdn_weight_file_count(const sdn_weight_file * file);
/** Describes tensor `index` (any dtype). */
SDN_API sdn_status sdn_weight_file_tensor_info(const sdn_weight_file * file, size_t index, sdn_tensor_info * out,
                                               sdn_error * err);
/** Index of the tensor called `name`; SDN_ERR_NOT_FOUND (naming tensor and file) when absent. */
SDN_API sdn_status sdn_weight_file_find(const sdn_weight_file * file, const char * name, size_t * index,
                                        sdn_error * err);
/** Like find + tensor_info, for a tensor used as a weight: SDN_ERR_NOT_FOUND when absent,
 *  SDN_ERR_UNSUPPORTED ("tensor 'x' has dtype I64; weights must be F32, F16 or BF16") for other dtypes. */
SDN_API sdn_status sdn_weight_file_get_weight(const sdn_weight_file * file, const char * name, sdn_tensor_info * out,
                                              sdn_error * err);
/**
 * The file's string->string metadata as a JSON object (safetensors `__metadata__`; "{}" when absent and for
 * torch files). Same buffer protocol as sdn_backend_info_json: `*required` receives the size with the NUL,
 * SDN_ERR_INVALID_ARGUMENT when `capacity` is too small.
 */
SDN_API sdn_status sdn_weight_file_metadata_json(const sdn_weight_file * file, char * buffer, size_t capacity,
                                                 size_t * required, sdn_error * err);

/** A tensor to write. */
typedef struct sdn_tensor_desc {
    const char * name;             /* non-empty, unique, not "__metadata__" */
    sdn_dtype dtype;               /* any sdn_dtype */
    int ndim;                      /* 0 .. SDN_MAX_DIMS */
    int64_t shape[SDN_MAX_DIMS];   /* each >= 0 */
    const void * data;             /* sdn_safetensors_write: product(shape) * dtype size bytes (may be NULL
                                      when that is 0); ignored by sdn_safetensors_write_stream */
} sdn_tensor_desc;

/**
 * Writes a safetensors file: tensors in the given order, contiguous, header padded with spaces to a
 * multiple of 8 bytes (so every tensor is 8-byte aligned when the sizes before it are), optional
 * `__metadata__` from the key/value arrays (may be NULL when metadata_count is 0). The file is written
 * to "<path>.partial" and renamed over `path` on success; on failure nothing is left behind.
 */
SDN_API sdn_status sdn_safetensors_write(const char * path, const sdn_tensor_desc * tensors, size_t count,
                                         const char * const * metadata_keys, const char * const * metadata_values,
                                         size_t metadata_count, sdn_error * err);

/**
 * Asked for the bytes [offset, offset + size) of tensor `index` (offset is relative to the tensor's
 * start); fills `buffer` and returns 0, or non-zero to stop the write (SDN_ERR_ABORTED). Chunks come in
 * order, tensor by tensor, each at most 16 MiB.
 */
typedef int (*sdn_tensor_fill_callback)(size_t index, uint64_t offset, void * buffer, size_t size, void * user_data);

/**
 * Streaming form of sdn_safetensors_write for files larger than memory (full-size random-weight models):
 * the header is written from the descriptions (their `data` is ignored) and the data is pulled from
 * `fill` chunk by chunk, so memory use stays at one chunk.
 */
SDN_API sdn_status sdn_safetensors_write_stream(const char * path, const sdn_tensor_desc * tensors, size_t count,
                                                const char * const * metadata_keys,
                                                const char * const * metadata_values, size_t metadata_count,
                                                sdn_tensor_fill_callback fill, void * user_data, sdn_error * err);


/* ------------------------------------------------------------------------------------------------ */
/* Networks: CLIP text encoder, CLIP vision encoder, UNet2DConditionModel, AutoencoderKL             */
/* ------------------------------------------------------------------------------------------------ */

/** Diffusers-named weights for one network, gathered from open weight files (the caller maps original
 *  checkpoint names onto diffusers names). Keeps the files it refers to alive. */
typedef struct sdn_weight_map sdn_weight_map;

SDN_API sdn_status sdn_weight_map_create(sdn_weight_map ** out, sdn_error * err);
SDN_API void sdn_weight_map_free(sdn_weight_map * map);
/**
 * Adds `name` as tensor `tensor` of `file` (F32, F16 or BF16), or as its rows [row_begin, row_end) when
 * row_begin >= 0 (OpenCLIP's fused in_proj split into q/k/v). The file may be freed afterwards: the map
 * keeps what it needs alive.
 */
SDN_API sdn_status sdn_weight_map_add(sdn_weight_map * map, const char * name, const sdn_weight_file * file,
                                      const char * tensor, int64_t row_begin, int64_t row_end, sdn_error * err);
SDN_API size_t sdn_weight_map_count(const sdn_weight_map * map);

typedef struct sdn_model sdn_model;

typedef enum sdn_model_kind {
    SDN_MODEL_TEXT_ENCODER = 0,   /* transformers CLIPTextModel */
    SDN_MODEL_VISION_ENCODER = 1, /* CLIPVisionModelWithProjection, or a StableDiffusionSafetyChecker's vision tower */
    SDN_MODEL_UNET = 2,           /* diffusers UNet2DConditionModel */
    SDN_MODEL_VAE = 3             /* diffusers AutoencoderKL */
} sdn_model_kind;

/**
 * Builds a network on `ctx`'s backend from its config.json text (diffusers / transformers format; absent
 * fields take the libraries' defaults) and a weight map. Every tensor is checked by name and shape before
 * the model exists (errors name the tensor, expected and found shapes); tensors the network does not use
 * are listed by sdn_model_unused_tensor (a warning, not an error). The weights are not copied on the CPU
 * (f16/bf16 stay as stored and are widened inside the kernels). `ctx` must outlive the model, and a model
 * must not run while another operation runs on the same context.
 */
SDN_API sdn_status sdn_model_create(sdn_context * ctx, sdn_model_kind kind, const char * config_json,
                                    const sdn_weight_map * weights, sdn_model ** out, sdn_error * err);
SDN_API void sdn_model_free(sdn_model * model);
SDN_API sdn_model_kind sdn_model_get_kind(const sdn_model * model);
SDN_API size_t sdn_model_unused_tensor_count(const sdn_model * model);
SDN_API const char * sdn_model_unused_tensor(const sdn_model * model, size_t index);
/** Bytes of the model's activation arena (sized by the largest forward so far). */
SDN_API size_t sdn_model_workspace_bytes(const sdn_model * model);
/**
 * The model's dimensions as JSON (what callers need to size buffers): text encoder {hidden, layers,
 * maxPositions, vocabSize}; vision encoder {hidden, layers, tokens, imageSize, channels, projectionDim};
 * unet {inChannels, outChannels, crossAttentionDim, numClassEmbeds}; vae {inChannels, outChannels,
 * latentChannels, downscale, scalingFactor}; all with "kind" and "unusedTensors". Buffer protocol as
 * sdn_backend_info_json.
 */
SDN_API sdn_status sdn_model_info_json(const sdn_model * model, char * buffer, size_t capacity, size_t * required,
                                       sdn_error * err);

/**
 * CLIP text encoder. ids [batch, seq] (seq <= max_position_embeddings). Outputs (host, NULL to skip):
 * embeds [batch, seq, hidden] = final LayerNorm of the output of layer (layers - clip_skip) (clip_skip 0:
 * last_hidden_state); pooled [batch, hidden] = embeds at the EOS position (transformers' rule);
 * hidden_states [layers + 1, batch, seq, hidden] = embeddings and every layer's output before the final LN.
 */
SDN_API sdn_status sdn_text_encoder_forward(sdn_model * model, const int32_t * ids, int64_t batch, int64_t seq,
                                            int clip_skip, float * embeds, float * pooled, float * hidden_states,
                                            sdn_error * err);

/**
 * CLIP vision encoder. pixel_values [batch, 3, image_size, image_size] (normalised). Outputs (host, NULL
 * to skip): image_embeds [batch, projection_dim], pooled [batch, hidden] (post_layernorm of the class
 * token), last_hidden_state [batch, tokens, hidden], hidden_states [layers + 1, batch, tokens, hidden].
 */
SDN_API sdn_status sdn_vision_encoder_forward(sdn_model * model, const float * pixel_values, int64_t batch,
                                              float * image_embeds, float * pooled, float * last_hidden_state,
                                              float * hidden_states, sdn_error * err);

/**
 * UNet. sample [batch, in_channels, height, width]; timesteps [batch] (per sample, may be fractional);
 * context [batch, context_len, cross_attention_dim]; class_labels [batch] (required when the config has
 * num_class_embeds, e.g. the x4 upscaler's noise level; else may be NULL); out [batch, out_channels,
 * height, width]. Polls the abort callback between blocks and reports progress per block.
 */
SDN_API sdn_status sdn_unet_forward(sdn_model * model, const float * sample, int64_t batch, int64_t height,
                                    int64_t width, const float * timesteps, const float * context,
                                    int64_t context_len, const int32_t * class_labels, float * out, sdn_error * err);

/** VAE encoder + quant_conv: x [batch, in_channels, H, W] in [-1, 1] -> moments [batch, 2*latent, H/f, W/f]
 *  (mean then logvar, before any clamping). H and W must be multiples of f = 2^(levels-1). */
SDN_API sdn_status sdn_vae_encode(sdn_model * model, const float * x, int64_t batch, int64_t height, int64_t width,
                                  float * moments, sdn_error * err);
/** post_quant_conv + VAE decoder: z [batch, latent, h, w] (already divided by scaling_factor) ->
 *  image [batch, out_channels, h*f, w*f] (roughly in [-1, 1]). */
SDN_API sdn_status sdn_vae_decode(sdn_model * model, const float * z, int64_t batch, int64_t height, int64_t width,
                                  float * image, sdn_error * err);

#ifdef __cplusplus
}
#endif

#endif /* SD_NATIVE_H */
