#include "errors.h"

namespace sdn_binding {

Napi::Error make_error(Napi::Env env, sdn_status status, const char * message) {
    Napi::Error e = Napi::Error::New(env, message != nullptr && *message ? message : sdn_status_name(status));
    e.Set("code", Napi::String::New(env, sdn_status_name(status)));
    return e;
}

Napi::Error make_error(Napi::Env env, const sdn_error & err) { return make_error(env, err.status, err.message); }

Napi::Error make_argument_error(Napi::Env env, const std::string & message) {
    Napi::Error e = Napi::TypeError::New(env, message);
    e.Set("code", Napi::String::New(env, sdn_status_name(SDN_ERR_INVALID_ARGUMENT)));
    return e;
}

}  // namespace sdn_binding
