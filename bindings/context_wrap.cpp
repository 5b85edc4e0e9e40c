#include "context_wrap.h"

#include <string>

#include "addon_data.h"
#include "errors.h"
#include "model_wrap.h"
#include "weight_file_wrap.h"
#include "promise_worker.h"

namespace sdn_binding {

struct ContextWrap::RunningOp {
    ContextWrap * owner = nullptr;
    bool has_progress = false;
    Napi::ThreadSafeFunction progress;
    std::vector<Napi::Reference<Napi::Value>> keep_alive;  // typed arrays used by the op
};

void ContextWrap::Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeContext",
                                      {
                                          InstanceMethod<&ContextWrap::Gemm>("gemm"),
                                          InstanceMethod<&ContextWrap::CreateModel>("createModel"),
                                          InstanceMethod<&ContextWrap::MeasureGemmPeak>("measureGemmPeak"),
                                          InstanceMethod<&ContextWrap::MeasureLinearPeak>("measureLinearPeak"),
                                          InstanceMethod<&ContextWrap::ResetPeakMemory>("resetPeakMemory"),
                                          InstanceMethod<&ContextWrap::Abort>("abort"),
                                          InstanceMethod<&ContextWrap::Dispose>("dispose"),
                                          InstanceAccessor<&ContextWrap::GetBackend>("backend"),
                                          InstanceAccessor<&ContextWrap::GetThreads>("threads"),
                                          InstanceAccessor<&ContextWrap::GetFallbackReason>("fallbackReason"),
                                          InstanceAccessor<&ContextWrap::GetHostMemory>("hostMemory"),
                                          InstanceAccessor<&ContextWrap::GetBackendDescription>("backendDescription"),
                                          InstanceAccessor<&ContextWrap::GetMemoryStats>("memoryStats"),
                                          InstanceAccessor<&ContextWrap::GetDisposed>("disposed"),
                                          InstanceAccessor<&ContextWrap::GetBusy>("busy"),
                                      });
    addon_data(env).context_constructor = Napi::Persistent(ctor);
    exports.Set("NativeContext", ctor);
    exports.Set("createContext", Napi::Function::New(env, CreateContext, "createContext"));
}

ContextWrap::ContextWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ContextWrap>(info) {
    // Only constructed by createContext, with the native handle as an External.
    if (info.Length() != 1 || !info[0].IsExternal()) {
        make_argument_error(info.Env(), "NativeContext cannot be constructed directly; use createContext()").ThrowAsJavaScriptException();
        return;
    }
    ctx_ = info[0].As<Napi::External<sdn_context>>().Data();
    reported_bytes_ = static_cast<int64_t>(sdn_context_host_memory(ctx_));
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), reported_bytes_);
}

ContextWrap::~ContextWrap() {
    // Finalizer path: the object was collected without dispose(). No op can be running (it would hold a
    // reference to this object), so freeing here is safe.
    if (ctx_ != nullptr) sdn_context_free(ctx_);
    ctx_ = nullptr;
}

bool ContextWrap::IsInstance(Napi::Env env, Napi::Value v) {
    return v.IsObject() && v.As<Napi::Object>().InstanceOf(addon_data(env).context_constructor.Value());
}

void ContextWrap::WhenIdle(std::function<void()> fn) {
    if (busy_) after_op_.push_back(std::move(fn));
    else fn();
}

Napi::Value ContextWrap::RunOp(Napi::Env env, const char * name, Napi::Value progress, const std::vector<Napi::Value> & keep,
                               PromiseWorker::Work work, PromiseWorker::Resolve resolve) {
    if (!begin_op(env)) return env.Undefined();
    std::vector<Napi::Reference<Napi::Value>> refs;
    for (const auto & v : keep)
        if (v.IsObject()) refs.push_back(Napi::Persistent(v));  // references exist for objects only
    auto op = prepare_op(env, progress);
    for (auto & r : refs) op->keep_alive.push_back(std::move(r));
    return PromiseWorker::Start(env, name, std::move(work), std::move(resolve), [this, op] { end_op(op); });
}

void ContextWrap::release_native(Napi::Env env) {
    if (ctx_ == nullptr) return;
    // Models hold pointers into the context: free them first.
    std::set<ModelWrap *> models;
    models.swap(models_);
    for (ModelWrap * m : models) m->ReleaseNative(env);
    sdn_context_free(ctx_);
    ctx_ = nullptr;
    if (reported_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -reported_bytes_);
    reported_bytes_ = 0;
}

bool ContextWrap::begin_op(Napi::Env env) {
    if (ctx_ == nullptr || dispose_pending_) {
        Napi::Error e = Napi::Error::New(env, "the context has been disposed");
        e.Set("code", Napi::String::New(env, "ERR_DISPOSED"));
        e.ThrowAsJavaScriptException();
        return false;
    }
    if (busy_) {
        Napi::Error e = Napi::Error::New(env, "the context is already running an operation (calls must be queued)");
        e.Set("code", Napi::String::New(env, "ERR_BUSY"));
        e.ThrowAsJavaScriptException();
        return false;
    }
    return true;
}

int ContextWrap::abort_trampoline(void * user) {
    auto * self = static_cast<ContextWrap *>(user);
    return self->abort_requested_.load(std::memory_order_relaxed);
}

void ContextWrap::progress_trampoline(int step, int total, void * user) {
    auto * op = static_cast<RunningOp *>(user);
    if (!op->has_progress) return;
    struct Payload {
        int step, total;
    };
    auto * payload = new Payload{step, total};
    napi_status st = op->progress.NonBlockingCall(payload, [](Napi::Env env, Napi::Function fn, Payload * p) {
        if (env != nullptr && fn != nullptr) fn.Call({Napi::Number::New(env, p->step), Napi::Number::New(env, p->total)});
        delete p;
    });
    if (st != napi_ok) delete payload;
}

std::shared_ptr<ContextWrap::RunningOp> ContextWrap::prepare_op(Napi::Env env, Napi::Value progress) {
    auto op = std::make_shared<RunningOp>();
    op->owner = this;
    busy_ = true;
    abort_requested_.store(0);
    Ref();  // keep this object alive while the worker runs
    sdn_context_set_abort_callback(ctx_, &ContextWrap::abort_trampoline, this);
    if (progress.IsFunction()) {
        op->has_progress = true;
        op->progress = Napi::ThreadSafeFunction::New(env, progress.As<Napi::Function>(), "sd-native progress", 0, 1);
        sdn_context_set_progress_callback(ctx_, &ContextWrap::progress_trampoline, op.get());
    } else {
        sdn_context_set_progress_callback(ctx_, nullptr, nullptr);
    }
    return op;
}

void ContextWrap::end_op(const std::shared_ptr<RunningOp> & op) {
    if (ctx_ != nullptr) {
        sdn_context_set_progress_callback(ctx_, nullptr, nullptr);
        sdn_context_set_abort_callback(ctx_, nullptr, nullptr);
    }
    if (op->has_progress) op->progress.Release();
    op->keep_alive.clear();
    busy_ = false;
    std::vector<std::function<void()>> hooks;
    hooks.swap(after_op_);
    for (auto & h : hooks) h();
    if (dispose_pending_) release_native(Env());
    Unref();
}

namespace {

bool get_int64(const Napi::Value & v, int64_t & out) {
    if (!v.IsNumber()) return false;
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) return false;
    out = static_cast<int64_t>(d);
    return true;
}

}  // namespace

// gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, onProgress?) -> Promise<void>
Napi::Value ContextWrap::Gemm(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 13) {
        make_argument_error(env, "gemm: expected 13 arguments").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const bool ta = info[0].ToBoolean(), tb = info[1].ToBoolean();
    int64_t m, n, k, lda, ldb, ldc;
    if (!get_int64(info[2], m) || !get_int64(info[3], n) || !get_int64(info[4], k) || !get_int64(info[7], lda) ||
        !get_int64(info[9], ldb) || !get_int64(info[12], ldc)) {
        make_argument_error(env, "gemm: m, n, k, lda, ldb, ldc must be integers").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    if (!info[5].IsNumber() || !info[10].IsNumber()) {
        make_argument_error(env, "gemm: alpha and beta must be numbers").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    if (!info[6].IsTypedArray() || !info[8].IsTypedArray() || !info[11].IsTypedArray() ||
        info[6].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        info[8].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        info[11].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        make_argument_error(env, "gemm: a, b and c must be Float32Array").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const float alpha = info[5].As<Napi::Number>().FloatValue(), beta = info[10].As<Napi::Number>().FloatValue();
    Napi::Float32Array a = info[6].As<Napi::Float32Array>(), b = info[8].As<Napi::Float32Array>(),
                       c = info[11].As<Napi::Float32Array>();
    // Bounds: the arrays must hold every element the strides address (checked here so bad input can never
    // make the core read or write outside JS memory).
    if (m > 0 && n > 0) {
        auto need = [](int64_t rows, int64_t cols, int64_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; };
        const int64_t need_c = need(m, n, ldc);
        const int64_t need_a = k > 0 ? (ta ? need(k, m, lda) : need(m, k, lda)) : 0;
        const int64_t need_b = k > 0 ? (tb ? need(n, k, ldb) : need(k, n, ldb)) : 0;
        if (m < 0 || n < 0 || k < 0 || lda < 0 || ldb < 0 || ldc < 0) {
            // let the core produce its precise message
        } else if (static_cast<int64_t>(c.ElementLength()) < need_c || static_cast<int64_t>(a.ElementLength()) < need_a ||
                   static_cast<int64_t>(b.ElementLength()) < need_b) {
            make_argument_error(env, "gemm: a typed array is shorter than its shape and stride require (need a=" +
                                         std::to_string(need_a) + ", b=" + std::to_string(need_b) + ", c=" +
                                         std::to_string(need_c) + " elements)")
                .ThrowAsJavaScriptException();
            return env.Undefined();
        }
    }
    if (!begin_op(env)) return env.Undefined();
    auto op = prepare_op(env, info.Length() > 13 ? info[13] : env.Undefined());
    op->keep_alive.push_back(Napi::Persistent(info[6]));
    op->keep_alive.push_back(Napi::Persistent(info[8]));
    op->keep_alive.push_back(Napi::Persistent(info[11]));
    sdn_context * ctx = ctx_;
    const float * ap = a.Data();
    const float * bp = b.Data();
    float * cp = c.Data();
    return PromiseWorker::Start(
        env, "sd-native gemm",
        [=](sdn_error & err) { return sdn_gemm_f32(ctx, ta, tb, m, n, k, alpha, ap, lda, bp, ldb, beta, cp, ldc, &err); },
        nullptr, [this, op] { end_op(op); });
}

// createModel(kind: 0..3, configJson: string, weightMap: NativeWeightMap) -> Promise<NativeModel>
Napi::Value ContextWrap::CreateModel(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !WeightMapWrap::IsInstance(env, info[2])) {
        make_argument_error(env, "createModel(kind: number, configJson: string, weights: NativeWeightMap)").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const int kind = info[0].As<Napi::Number>().Int32Value();
    auto config = std::make_shared<std::string>(info[1].As<Napi::String>().Utf8Value());
    sdn_weight_map * map = WeightMapWrap::Unwrap(info[2].As<Napi::Object>())->native();
    if (map == nullptr) {
        make_argument_error(env, "createModel: the weight map has been disposed").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    sdn_context * ctx = ctx_;
    auto holder = std::make_shared<sdn_model *>(nullptr);
    return RunOp(
        env, "sd-native createModel", env.Undefined(), {info[2]},
        [=](sdn_error & err) {
            return sdn_model_create(ctx, static_cast<sdn_model_kind>(kind), config->c_str(), map, holder.get(), &err);
        },
        [holder, this](Napi::Env e) -> Napi::Value {
            sdn_model * m = *holder;
            *holder = nullptr;
            return ModelWrap::NewInstance(e, Value(), m);
        });
}

// measureGemmPeak / measureLinearPeak (size, seconds) -> Promise<number> (GFLOP/s)
Napi::Value ContextWrap::MeasurePeak(const Napi::CallbackInfo & info, const char * name,
                                     sdn_status (*measure)(sdn_context *, int64_t, double, double *, sdn_error *)) {
    Napi::Env env = info.Env();
    int64_t size = 0;
    if (info.Length() < 2 || !get_int64(info[0], size) || !info[1].IsNumber()) {
        make_argument_error(env, std::string(name) + "(size: integer, seconds: number)").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const double seconds = info[1].As<Napi::Number>().DoubleValue();
    if (!begin_op(env)) return env.Undefined();
    auto op = prepare_op(env, env.Undefined());
    sdn_context * ctx = ctx_;
    auto result = std::make_shared<double>(0.0);
    return PromiseWorker::Start(
        env, (std::string("sd-native ") + name).c_str(),
        [=](sdn_error & err) { return measure(ctx, size, seconds, result.get(), &err); },
        [result](Napi::Env e) { return Napi::Number::New(e, *result); }, [this, op] { end_op(op); });
}

Napi::Value ContextWrap::MeasureGemmPeak(const Napi::CallbackInfo & info) {
    return MeasurePeak(info, "measureGemmPeak", sdn_measure_gemm_peak);
}

Napi::Value ContextWrap::MeasureLinearPeak(const Napi::CallbackInfo & info) {
    return MeasurePeak(info, "measureLinearPeak", sdn_measure_linear_peak);
}

Napi::Value ContextWrap::ResetPeakMemory(const Napi::CallbackInfo & info) {
    if (ctx_ != nullptr) sdn_context_reset_peak_memory(ctx_);
    return info.Env().Undefined();
}

Napi::Value ContextWrap::Abort(const Napi::CallbackInfo & info) {
    abort_requested_.store(1);
    return info.Env().Undefined();
}

Napi::Value ContextWrap::Dispose(const Napi::CallbackInfo & info) {
    if (busy_) {
        dispose_pending_ = true;   // freed when the running op finishes
        abort_requested_.store(1); // and ask it to stop early
    } else {
        release_native(info.Env());
    }
    return info.Env().Undefined();
}

Napi::Value ContextWrap::GetBackend(const Napi::CallbackInfo & info) {
    if (ctx_ == nullptr) return info.Env().Null();
    return Napi::String::New(info.Env(), sdn_context_backend(ctx_) == SDN_BACKEND_CUDA ? "cuda" : "cpu");
}

Napi::Value ContextWrap::GetThreads(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), ctx_ != nullptr ? sdn_context_n_threads(ctx_) : 0);
}

Napi::Value ContextWrap::GetFallbackReason(const Napi::CallbackInfo & info) {
    return Napi::String::New(info.Env(), ctx_ != nullptr ? sdn_context_fallback_reason(ctx_) : "");
}

Napi::Value ContextWrap::GetBackendDescription(const Napi::CallbackInfo & info) {
    return Napi::String::New(info.Env(), ctx_ != nullptr ? sdn_context_backend_description(ctx_) : "");
}

Napi::Value ContextWrap::GetMemoryStats(const Napi::CallbackInfo & info) {
    Napi::Object o = Napi::Object::New(info.Env());
    sdn_memory_stats m {};
    if (ctx_ != nullptr) sdn_context_memory_stats(ctx_, &m, nullptr);
    o.Set("inUse", Napi::Number::New(info.Env(), static_cast<double>(m.in_use_bytes)));
    o.Set("peak", Napi::Number::New(info.Env(), static_cast<double>(m.peak_bytes)));
    o.Set("reserved", Napi::Number::New(info.Env(), static_cast<double>(m.reserved_bytes)));
    return o;
}

Napi::Value ContextWrap::GetHostMemory(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), ctx_ != nullptr ? static_cast<double>(sdn_context_host_memory(ctx_)) : 0.0);
}

Napi::Value ContextWrap::GetDisposed(const Napi::CallbackInfo & info) {
    return Napi::Boolean::New(info.Env(), ctx_ == nullptr || dispose_pending_);
}

Napi::Value ContextWrap::GetBusy(const Napi::CallbackInfo & info) { return Napi::Boolean::New(info.Env(), busy_); }

// createContext({ backend: "auto"|"cpu"|"cuda", threads, deviceIndex, allowFallback }) -> Promise<NativeContext>
Napi::Value CreateContext(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    sdn_context_params p = sdn_context_params_init();
    if (info.Length() > 0 && info[0].IsObject()) {
        Napi::Object o = info[0].As<Napi::Object>();
        Napi::Value backend = o.Get("backend");
        if (backend.IsString()) {
            const std::string b = backend.As<Napi::String>().Utf8Value();
            if (b == "auto") p.backend = SDN_BACKEND_AUTO;
            else if (b == "cpu") p.backend = SDN_BACKEND_CPU;
            else if (b == "cuda") p.backend = SDN_BACKEND_CUDA;
            else {
                make_argument_error(env, "createContext: backend must be \"auto\", \"cpu\" or \"cuda\", got \"" + b + "\"")
                    .ThrowAsJavaScriptException();
                return env.Undefined();
            }
        }
        Napi::Value threads = o.Get("threads");
        if (threads.IsNumber()) p.n_threads = threads.As<Napi::Number>().Int32Value();
        Napi::Value device = o.Get("deviceIndex");
        if (device.IsNumber()) p.device_index = device.As<Napi::Number>().Int32Value();
        Napi::Value precision = o.Get("weightPrecision");
        if (precision.IsString()) {
            const std::string w = precision.As<Napi::String>().Utf8Value();
            if (w == "default") p.weight_precision = SDN_WEIGHTS_DEFAULT;
            else if (w == "f16") p.weight_precision = SDN_WEIGHTS_F16;
            else if (w == "f32") p.weight_precision = SDN_WEIGHTS_F32;
            else {
                make_argument_error(env, "createContext: weightPrecision must be \"default\", \"f16\" or \"f32\", got \"" + w + "\"")
                    .ThrowAsJavaScriptException();
                return env.Undefined();
            }
        }
        Napi::Value fallback = o.Get("allowFallback");
        if (fallback.IsBoolean()) p.allow_fallback = fallback.As<Napi::Boolean>().Value() ? 1 : 0;
    }
    auto holder = std::make_shared<sdn_context *>(nullptr);
    return PromiseWorker::Start(
        env, "sd-native createContext", [=](sdn_error & err) { return sdn_context_create(&p, holder.get(), &err); },
        [holder](Napi::Env e) -> Napi::Value {
            sdn_context * ctx = *holder;
            *holder = nullptr;
            return addon_data(e).context_constructor.New({Napi::External<sdn_context>::New(e, ctx)});
        });
}

}  // namespace sdn_binding
