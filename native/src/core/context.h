// The definition behind the opaque sdn_context handle.
#pragma once

#include "core/backend.h"
#include "core/exec_control.h"
#include "core/thread_pool.h"
#include "sd_native.h"

#include <memory>
#include <string>

struct sdn_context {
    std::unique_ptr<sdn::ThreadPool> pool;
    std::unique_ptr<sdn::Backend> backend;
    std::string fallback_reason;
    std::string description;  // storage behind sdn_context_backend_description
    sdn::ExecControl control;
};
