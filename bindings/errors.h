// Turning C API failures into JS errors whose `code` is the sdn_status name (lib/errors.ts maps them
// onto typed classes).
#pragma once

#include <napi.h>

#include "sd_native.h"

namespace sdn_binding {

Napi::Error make_error(Napi::Env env, sdn_status status, const char * message);
Napi::Error make_error(Napi::Env env, const sdn_error & err);
// Throws a JS TypeError with code SDN_ERR_INVALID_ARGUMENT (argument marshalling failures).
Napi::Error make_argument_error(Napi::Env env, const std::string & message);

}  // namespace sdn_binding
