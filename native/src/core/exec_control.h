// Progress reporting and cooperative cancellation for one running operation. Built by the context from
// its callbacks; kernels and networks call poll() between units of work (row blocks, layers, tiles).
#pragma once

#include "core/error.h"
#include "sd_native.h"

#include <atomic>

namespace sdn {

struct ExecControl {
    sdn_progress_callback progress = nullptr;
    void * progress_user = nullptr;
    sdn_abort_callback abort_cb = nullptr;
    void * abort_user = nullptr;

    bool abort_requested() const { return abort_cb != nullptr && abort_cb(abort_user) != 0; }

    // Throws Error(SDN_ERR_ABORTED) when the abort callback asks to stop.
    void poll(const char * where) const {
        if (abort_requested()) fail(SDN_ERR_ABORTED, std::string("aborted by the caller during ") + where);
    }

    void report(int step, int total) const {
        if (progress != nullptr) progress(step, total, progress_user);
    }
};

}  // namespace sdn
