#include "model_wrap.h"

#include <string>
#include <vector>

#include "addon_data.h"
#include "context_wrap.h"
#include "errors.h"

namespace sdn_binding {

namespace {

// A Float32Array / Int32Array argument of at least `need` elements, or null/undefined when `optional`.
template <typename T>
bool typed_arg(Napi::Env env, const Napi::CallbackInfo & info, size_t idx, napi_typedarray_type type, double need, bool optional,
               const char * what, T ** out) {
    *out = nullptr;
    Napi::Value v = idx < info.Length() ? info[idx] : env.Undefined();
    if (optional && (v.IsNull() || v.IsUndefined())) return true;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
        make_argument_error(env, std::string(what) + (type == napi_float32_array ? " must be a Float32Array" : " must be an Int32Array"))
            .ThrowAsJavaScriptException();
        return false;
    }
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (static_cast<double>(ta.ElementLength()) < need) {
        make_argument_error(env, std::string(what) + " has " + std::to_string(ta.ElementLength()) + " elements, needs " +
                                     std::to_string(static_cast<long long>(need)))
            .ThrowAsJavaScriptException();
        return false;
    }
    *out = reinterpret_cast<T *>(static_cast<uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
    return true;
}

bool int_arg(Napi::Env env, const Napi::CallbackInfo & info, size_t idx, int64_t min, const char * what, int64_t * out) {
    Napi::Value v = idx < info.Length() ? info[idx] : env.Undefined();
    if (!v.IsNumber()) {
        make_argument_error(env, std::string(what) + " must be an integer").ThrowAsJavaScriptException();
        return false;
    }
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= static_cast<double>(min) && d <= 1e12) || d != static_cast<double>(static_cast<int64_t>(d))) {
        make_argument_error(env, std::string(what) + " must be an integer >= " + std::to_string(min) + ", got " + std::to_string(d))
            .ThrowAsJavaScriptException();
        return false;
    }
    *out = static_cast<int64_t>(d);
    return true;
}

}  // namespace

void ModelWrap::Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeModel",
                                      {
                                          InstanceMethod<&ModelWrap::Info>("info"),
                                          InstanceMethod<&ModelWrap::TextEncoder>("textEncoder"),
                                          InstanceMethod<&ModelWrap::VisionEncoder>("visionEncoder"),
                                          InstanceMethod<&ModelWrap::Unet>("unet"),
                                          InstanceMethod<&ModelWrap::VaeEncode>("vaeEncode"),
                                          InstanceMethod<&ModelWrap::VaeDecode>("vaeDecode"),
                                          InstanceMethod<&ModelWrap::Dispose>("dispose"),
                                          InstanceAccessor<&ModelWrap::GetDisposed>("disposed"),
                                      });
    addon_data(env).model_constructor = Napi::Persistent(ctor);
    exports.Set("NativeModel", ctor);
}

Napi::Value ModelWrap::NewInstance(Napi::Env env, Napi::Object context, sdn_model * model) {
    return addon_data(env).model_constructor.New({context, Napi::External<sdn_model>::New(env, model)});
}

ModelWrap::ModelWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ModelWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !ContextWrap::IsInstance(env, info[0]) || !info[1].IsExternal()) {
        make_argument_error(env, "NativeModel cannot be constructed directly; use NativeContext.createModel()").ThrowAsJavaScriptException();
        return;
    }
    context_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
    context_ = ContextWrap::Unwrap(info[0].As<Napi::Object>());
    model_ = info[1].As<Napi::External<sdn_model>>().Data();
    context_->RegisterModel(this);
    size_t need = 0;
    sdn_model_info_json(model_, nullptr, 0, &need, nullptr);
    std::vector<char> buf(need + 1);
    sdn_error err;
    if (sdn_model_info_json(model_, buf.data(), buf.size(), &need, &err) != SDN_OK) {
        make_error(env, err).ThrowAsJavaScriptException();
        return;
    }
    Napi::Function parse = env.Global().Get("JSON").As<Napi::Object>().Get("parse").As<Napi::Function>();
    info_ = Napi::Persistent(parse.Call({Napi::String::New(env, buf.data())}).As<Napi::Object>());
}

ModelWrap::~ModelWrap() {
    if (model_ != nullptr) {
        if (context_ != nullptr) context_->UnregisterModel(this);
        sdn_model_free(model_);
    }
}

void ModelWrap::ReleaseNative(Napi::Env env) {
    if (reported_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -reported_bytes_);
    reported_bytes_ = 0;
    sdn_model_free(model_);
    model_ = nullptr;
    context_ = nullptr;
}

bool ModelWrap::usable(Napi::Env env) {
    if (model_ != nullptr && context_ != nullptr) return true;
    Napi::Error e = Napi::Error::New(env, "the model has been disposed (or its context was)");
    e.Set("code", Napi::String::New(env, "ERR_DISPOSED"));
    e.ThrowAsJavaScriptException();
    return false;
}

void ModelWrap::update_memory(Napi::Env env) {
    const int64_t now = model_ != nullptr ? static_cast<int64_t>(sdn_model_workspace_bytes(model_)) : 0;
    if (now != reported_bytes_) Napi::MemoryManagement::AdjustExternalMemory(env, now - reported_bytes_);
    reported_bytes_ = now;
}

Napi::Value ModelWrap::resolve_after_forward(Napi::Env env) {
    update_memory(env);
    return env.Undefined();
}

double ModelWrap::dim(const char * key) const {
    Napi::Value v = info_.Value().Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.0;
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo & info) { return info_.Value(); }

// textEncoder(ids: Int32Array, batch, seq, clipSkip, embeds?, pooled?, hiddenStates?, onProgress?)
Napi::Value ModelWrap::TextEncoder(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    int64_t B, S, skip;
    if (!int_arg(env, info, 1, 1, "batch", &B) || !int_arg(env, info, 2, 1, "seq", &S) || !int_arg(env, info, 3, 0, "clipSkip", &skip))
        return env.Undefined();
    const double H = dim("hidden"), L = dim("layers");
    int32_t * ids;
    float *embeds, *pooled, *hidden;
    if (!typed_arg(env, info, 0, napi_int32_array, double(B * S), false, "ids", &ids) ||
        !typed_arg(env, info, 4, napi_float32_array, double(B * S) * H, true, "embeds", &embeds) ||
        !typed_arg(env, info, 5, napi_float32_array, double(B) * H, true, "pooled", &pooled) ||
        !typed_arg(env, info, 6, napi_float32_array, (L + 1) * double(B * S) * H, true, "hiddenStates", &hidden))
        return env.Undefined();
    sdn_model * m = model_;
    const int clip_skip = static_cast<int>(skip);
    std::vector<Napi::Value> keep = {info[0], Value()};
    for (size_t i = 4; i < 7 && i < info.Length(); ++i) keep.push_back(info[i]);
    return context_->RunOp(env, "sd-native textEncoder", info.Length() > 7 ? info[7] : env.Undefined(), keep,
                           [=](sdn_error & err) { return sdn_text_encoder_forward(m, ids, B, S, clip_skip, embeds, pooled, hidden, &err); },
                           [this](Napi::Env e) { return resolve_after_forward(e); });
}

// visionEncoder(pixels: Float32Array, batch, imageEmbeds?, pooled?, lastHiddenState?, hiddenStates?, onProgress?)
Napi::Value ModelWrap::VisionEncoder(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    int64_t B;
    if (!int_arg(env, info, 1, 1, "batch", &B)) return env.Undefined();
    const double H = dim("hidden"), L = dim("layers"), T = dim("tokens"), I = dim("imageSize"), C = dim("channels"),
                 P = dim("projectionDim");
    float *pixels, *embeds, *pooled, *last, *hidden;
    if (!typed_arg(env, info, 0, napi_float32_array, double(B) * C * I * I, false, "pixelValues", &pixels) ||
        !typed_arg(env, info, 2, napi_float32_array, double(B) * P, true, "imageEmbeds", &embeds) ||
        !typed_arg(env, info, 3, napi_float32_array, double(B) * H, true, "pooled", &pooled) ||
        !typed_arg(env, info, 4, napi_float32_array, double(B) * T * H, true, "lastHiddenState", &last) ||
        !typed_arg(env, info, 5, napi_float32_array, (L + 1) * double(B) * T * H, true, "hiddenStates", &hidden))
        return env.Undefined();
    sdn_model * m = model_;
    std::vector<Napi::Value> keep = {info[0], Value()};
    for (size_t i = 2; i < 6 && i < info.Length(); ++i) keep.push_back(info[i]);
    return context_->RunOp(env, "sd-native visionEncoder", info.Length() > 6 ? info[6] : env.Undefined(), keep,
                           [=](sdn_error & err) { return sdn_vision_encoder_forward(m, pixels, B, embeds, pooled, last, hidden, &err); },
                           [this](Napi::Env e) { return resolve_after_forward(e); });
}

// unet(sample, batch, height, width, timesteps: Float32Array, context: Float32Array, contextLen, classLabels: Int32Array|null, out, onProgress?)
Napi::Value ModelWrap::Unet(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    int64_t B, H, W, S;
    if (!int_arg(env, info, 1, 1, "batch", &B) || !int_arg(env, info, 2, 1, "height", &H) || !int_arg(env, info, 3, 1, "width", &W) ||
        !int_arg(env, info, 6, 1, "contextLength", &S))
        return env.Undefined();
    const double Cin = dim("inChannels"), Cout = dim("outChannels"), X = dim("crossAttentionDim"), K = dim("numClassEmbeds");
    float *sample, *timesteps, *ctx, *out;
    int32_t * labels;
    if (!typed_arg(env, info, 0, napi_float32_array, double(B) * Cin * H * W, false, "sample", &sample) ||
        !typed_arg(env, info, 4, napi_float32_array, double(B), false, "timesteps", &timesteps) ||
        !typed_arg(env, info, 5, napi_float32_array, double(B * S) * X, false, "encoderHiddenStates", &ctx) ||
        !typed_arg(env, info, 7, napi_int32_array, double(B), K <= 0, "classLabels", &labels) ||
        !typed_arg(env, info, 8, napi_float32_array, double(B) * Cout * H * W, false, "out", &out))
        return env.Undefined();
    sdn_model * m = model_;
    std::vector<Napi::Value> keep = {info[0], info[4], info[5], info[7], info[8], Value()};
    return context_->RunOp(env, "sd-native unet", info.Length() > 9 ? info[9] : env.Undefined(), keep,
                           [=](sdn_error & err) { return sdn_unet_forward(m, sample, B, H, W, timesteps, ctx, S, labels, out, &err); },
                           [this](Napi::Env e) { return resolve_after_forward(e); });
}

// vaeEncode(x, batch, height, width, moments, onProgress?)
Napi::Value ModelWrap::VaeEncode(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    int64_t B, H, W;
    if (!int_arg(env, info, 1, 1, "batch", &B) || !int_arg(env, info, 2, 1, "height", &H) || !int_arg(env, info, 3, 1, "width", &W))
        return env.Undefined();
    const double Cin = dim("inChannels"), Lc = dim("latentChannels"), f = dim("downscale");
    const int64_t fi = static_cast<int64_t>(f);
    float *x, *moments;
    if (!typed_arg(env, info, 0, napi_float32_array, double(B) * Cin * H * W, false, "x", &x) ||
        !typed_arg(env, info, 4, napi_float32_array, double(B) * 2 * Lc * double(H / fi) * double(W / fi), false, "moments", &moments))
        return env.Undefined();
    sdn_model * m = model_;
    return context_->RunOp(env, "sd-native vaeEncode", info.Length() > 5 ? info[5] : env.Undefined(), {info[0], info[4], Value()},
                           [=](sdn_error & err) { return sdn_vae_encode(m, x, B, H, W, moments, &err); },
                           [this](Napi::Env e) { return resolve_after_forward(e); });
}

// vaeDecode(z, batch, height, width, image, onProgress?)
Napi::Value ModelWrap::VaeDecode(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    int64_t B, H, W;
    if (!int_arg(env, info, 1, 1, "batch", &B) || !int_arg(env, info, 2, 1, "height", &H) || !int_arg(env, info, 3, 1, "width", &W))
        return env.Undefined();
    const double Cout = dim("outChannels"), Lc = dim("latentChannels"), f = dim("downscale");
    float *z, *image;
    if (!typed_arg(env, info, 0, napi_float32_array, double(B) * Lc * H * W, false, "z", &z) ||
        !typed_arg(env, info, 4, napi_float32_array, double(B) * Cout * double(H) * f * double(W) * f, false, "image", &image))
        return env.Undefined();
    sdn_model * m = model_;
    return context_->RunOp(env, "sd-native vaeDecode", info.Length() > 5 ? info[5] : env.Undefined(), {info[0], info[4], Value()},
                           [=](sdn_error & err) { return sdn_vae_decode(m, z, B, H, W, image, &err); },
                           [this](Napi::Env e) { return resolve_after_forward(e); });
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo & info) {
    if (model_ == nullptr || context_ == nullptr) return info.Env().Undefined();
    ContextWrap * ctx = context_;
    sdn_model * m = model_;
    if (reported_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -reported_bytes_);
    reported_bytes_ = 0;
    model_ = nullptr;  // no new ops from now on
    context_ = nullptr;
    ctx->UnregisterModel(this);
    ctx->WhenIdle([m] { sdn_model_free(m); });  // a running forward may still use it
    return info.Env().Undefined();
}

Napi::Value ModelWrap::GetDisposed(const Napi::CallbackInfo & info) {
    return Napi::Boolean::New(info.Env(), model_ == nullptr || context_ == nullptr);
}

}  // namespace sdn_binding
