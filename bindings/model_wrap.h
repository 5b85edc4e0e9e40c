// NativeModel: a network (text encoder, vision encoder, UNet, VAE) built on a NativeContext. Forward
// calls run as that context's operations (one at a time, off the JS thread, abortable). Output buffers
// are Float32Arrays the caller allocates; their lengths are checked against the model's dimensions.
#pragma once

#include <napi.h>

#include "sd_native.h"

namespace sdn_binding {

class ContextWrap;

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
public:
    static void Init(Napi::Env env, Napi::Object exports);
    static Napi::Value NewInstance(Napi::Env env, Napi::Object context, sdn_model * model);
    explicit ModelWrap(const Napi::CallbackInfo & info);
    ~ModelWrap() override;
    // Frees the native model (the context is going away, or dispose()).
    void ReleaseNative(Napi::Env env);

private:
    Napi::Value Info(const Napi::CallbackInfo & info);
    Napi::Value TextEncoder(const Napi::CallbackInfo & info);
    Napi::Value VisionEncoder(const Napi::CallbackInfo & info);
    Napi::Value Unet(const Napi::CallbackInfo & info);
    Napi::Value VaeEncode(const Napi::CallbackInfo & info);
    Napi::Value VaeDecode(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
    Napi::Value GetDisposed(const Napi::CallbackInfo & info);

    bool usable(Napi::Env env);
    // Reports the model's native memory (activation arena) to V8 after each forward.
    void update_memory(Napi::Env env);
    Napi::Value resolve_after_forward(Napi::Env env);
    int64_t reported_bytes_ = 0;
    double dim(const char * key) const;

    sdn_model * model_ = nullptr;
    ContextWrap * context_ = nullptr;
    Napi::ObjectReference context_ref_;
    Napi::ObjectReference info_;  // parsed sdn_model_info_json
};

}  // namespace sdn_binding
