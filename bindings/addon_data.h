// Per-environment data of the addon (constructors of wrapped classes). Lives in the env's instance data,
// so there is no global state and worker threads / multiple environments stay independent.
#pragma once

#include <napi.h>

namespace sdn_binding {

struct AddonData {
    Napi::FunctionReference context_constructor;
    Napi::FunctionReference weight_file_constructor;
    Napi::FunctionReference weight_map_constructor;
    Napi::FunctionReference model_constructor;
};

inline AddonData & addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace sdn_binding
