// NativeContext: the JS object behind lib/context.ts. Owns one sdn_context; runs one operation at a
// time (the TS layer queues), each as a PromiseWorker; abort() and progress callbacks reach the running
// operation through the C API's callbacks; dispose() is idempotent and deferred while an op runs.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "promise_worker.h"
#include "sd_native.h"

namespace sdn_binding {

class ModelWrap;

class ContextWrap : public Napi::ObjectWrap<ContextWrap> {
public:
    static void Init(Napi::Env env, Napi::Object exports);
    explicit ContextWrap(const Napi::CallbackInfo & info);
    ~ContextWrap() override;

    static bool IsInstance(Napi::Env env, Napi::Value v);
    sdn_context * native() const { return ctx_; }

    // Runs `work` as this context's one running operation (throws a JS error and returns undefined when the
    // context is disposed or busy). `keep` values stay referenced until the op finishes; `progress` may be a
    // function called with (step, total) on the JS thread.
    Napi::Value RunOp(Napi::Env env, const char * name, Napi::Value progress, const std::vector<Napi::Value> & keep,
                      PromiseWorker::Work work, PromiseWorker::Resolve resolve);

    // Models built on this context are freed before it (and marked disposed).
    void RegisterModel(ModelWrap * m) { models_.insert(m); }
    void UnregisterModel(ModelWrap * m) { models_.erase(m); }
    bool busy() const { return busy_; }
    // Runs `fn` now when idle, or right after the running operation finishes.
    void WhenIdle(std::function<void()> fn);

private:
    struct RunningOp;

    Napi::Value Gemm(const Napi::CallbackInfo & info);
    Napi::Value CreateModel(const Napi::CallbackInfo & info);
    Napi::Value MeasureGemmPeak(const Napi::CallbackInfo & info);
    Napi::Value MeasureLinearPeak(const Napi::CallbackInfo & info);
    Napi::Value MeasurePeak(const Napi::CallbackInfo & info, const char * name,
                            sdn_status (*measure)(sdn_context *, int64_t, double, double *, sdn_error *));
    Napi::Value ResetPeakMemory(const Napi::CallbackInfo & info);
    Napi::Value Abort(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
    Napi::Value GetBackend(const Napi::CallbackInfo & info);
    Napi::Value GetThreads(const Napi::CallbackInfo & info);
    Napi::Value GetFallbackReason(const Napi::CallbackInfo & info);
    Napi::Value GetBackendDescription(const Napi::CallbackInfo & info);
    Napi::Value GetMemoryStats(const Napi::CallbackInfo & info);
    Napi::Value GetHostMemory(const Napi::CallbackInfo & info);
    Napi::Value GetDisposed(const Napi::CallbackInfo & info);
    Napi::Value GetBusy(const Napi::CallbackInfo & info);

    // Checks the context is usable and idle; throws a JS error otherwise. Marks it busy.
    bool begin_op(Napi::Env env);
    // Installs callbacks for one operation; `progress` may be empty.
    std::shared_ptr<RunningOp> prepare_op(Napi::Env env, Napi::Value progress);
    void end_op(const std::shared_ptr<RunningOp> & op);
    void release_native(Napi::Env env);

    static int abort_trampoline(void * user);
    static void progress_trampoline(int step, int total, void * user);

    sdn_context * ctx_ = nullptr;
    bool busy_ = false;
    bool dispose_pending_ = false;
    std::atomic<int> abort_requested_{0};
    int64_t reported_bytes_ = 0;
    std::set<ModelWrap *> models_;
    std::vector<std::function<void()>> after_op_;
};

// createContext(options) -> Promise<NativeContext>
Napi::Value CreateContext(const Napi::CallbackInfo & info);

}  // namespace sdn_binding
