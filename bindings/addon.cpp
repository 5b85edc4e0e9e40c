// Module entry: registers every wrapped object and function. bindings/ only marshals between JS and
// the C API in native/include/sd_native.h.
#include <napi.h>

#include <string>
#include <vector>

#include "addon_data.h"
#include "context_wrap.h"
#include "model_wrap.h"
#include "weight_file_wrap.h"
#include "errors.h"
#include "sd_native.h"

namespace sdn_binding {

namespace {

Napi::Value Version(const Napi::CallbackInfo & info) { return Napi::String::New(info.Env(), sdn_version()); }

// backendInfoJson() -> string (synchronous: it only queries the machine and loaded libraries)
Napi::Value BackendInfoJson(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    size_t need = 0;
    sdn_error err;
    std::vector<char> buf(16384);
    sdn_status st = sdn_backend_info_json(buf.data(), buf.size(), &need, &err);
    if (st == SDN_ERR_INVALID_ARGUMENT && need > buf.size()) {
        buf.resize(need);
        st = sdn_backend_info_json(buf.data(), buf.size(), &need, &err);
    }
    if (st != SDN_OK) {
        make_error(env, err).ThrowAsJavaScriptException();
        return env.Undefined();
    }
    return Napi::String::New(env, buf.data());
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    env.SetInstanceData(new AddonData());
    exports.Set("version", Napi::Function::New(env, Version, "version"));
    exports.Set("backendInfoJson", Napi::Function::New(env, BackendInfoJson, "backendInfoJson"));
    ContextWrap::Init(env, exports);
    WeightFileWrap::Init(env, exports);
    WeightMapWrap::Init(env, exports);
    ModelWrap::Init(env, exports);
    return exports;
}

}  // namespace sdn_binding

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return sdn_binding::Init(env, exports); }

NODE_API_MODULE(sd_native, InitAddon)
