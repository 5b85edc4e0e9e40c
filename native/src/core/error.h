// Internal error type of the core. Thrown inside the library, caught at the C API boundary
// (api/*.cpp) and turned into an sdn_status plus message. Never crosses the C boundary.
#pragma once

#include "sd_native.h"

#include <stdexcept>
#include <string>

namespace sdn {

class Error : public std::runtime_error {
public:
    Error(sdn_status status, std::string message) : std::runtime_error(std::move(message)), status_(status) {}
    sdn_status status() const noexcept { return status_; }

private:
    sdn_status status_;
};

[[noreturn]] inline void fail(sdn_status status, const std::string & message) { throw Error(status, message); }

inline void require(bool condition, sdn_status status, const std::string & message) {
    if (!condition) fail(status, message);
}

// Fills `err` (if not NULL) and returns `status`.
sdn_status set_error(sdn_error * err, sdn_status status, const char * message);

// Runs `body` and converts any exception into a status + message. The only place exceptions stop.
template <typename F>
sdn_status guarded(sdn_error * err, F && body) noexcept {
    try {
        body();
        return set_error(err, SDN_OK, "");
    } catch (const Error & e) {
        return set_error(err, e.status(), e.what());
    } catch (const std::bad_alloc &) {
        return set_error(err, SDN_ERR_OUT_OF_MEMORY, "out of host memory");
    } catch (const std::exception & e) {
        return set_error(err, SDN_ERR_INTERNAL, e.what());
    } catch (...) {
        return set_error(err, SDN_ERR_INTERNAL, "unknown internal error");
    }
}

}  // namespace sdn
