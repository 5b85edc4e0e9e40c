// One AsyncWorker + promise per native operation: `work` runs on a libuv worker thread (never the JS
// thread) and returns an sdn_status; `resolve` builds the JS value on the JS thread afterwards.
#pragma once

#include <napi.h>

#include <functional>
#include <utility>

#include "errors.h"
#include "sd_native.h"

namespace sdn_binding {

class PromiseWorker : public Napi::AsyncWorker {
public:
    using Work = std::function<sdn_status(sdn_error &)>;
    using Resolve = std::function<Napi::Value(Napi::Env)>;
    using Finally = std::function<void()>;

    // Queues the work and returns the promise.
    static Napi::Promise Start(Napi::Env env, const char * name, Work work, Resolve resolve, Finally finally = nullptr) {
        auto * w = new PromiseWorker(env, name, std::move(work), std::move(resolve), std::move(finally));
        Napi::Promise p = w->deferred_.Promise();
        w->Queue();
        return p;
    }

protected:
    void Execute() override { status_ = work_(err_); }

    void OnOK() override {
        Napi::Env env = Env();
        if (finally_) finally_();
        if (status_ != SDN_OK) {
            deferred_.Reject(make_error(env, err_).Value());
            return;
        }
        deferred_.Resolve(resolve_ ? resolve_(env) : env.Undefined());
    }

    void OnError(const Napi::Error & e) override {
        if (finally_) finally_();
        deferred_.Reject(e.Value());
    }

private:
    PromiseWorker(Napi::Env env, const char * name, Work work, Resolve resolve, Finally finally)
        : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
          resolve_(std::move(resolve)), finally_(std::move(finally)) {
        err_.status = SDN_OK;
        err_.message[0] = '\0';
    }

    Napi::Promise::Deferred deferred_;
    Work work_;
    Resolve resolve_;
    Finally finally_;
    sdn_status status_ = SDN_OK;
    sdn_error err_;
};

}  // namespace sdn_binding
