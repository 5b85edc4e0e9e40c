#include "core/error.h"

#include <cstring>

namespace sdn {

sdn_status set_error(sdn_error * err, sdn_status status, const char * message) {
    if (err != nullptr) {
        err->status = status;
        const char * text = message != nullptr ? message : "";
        std::strncpy(err->message, text, SDN_ERROR_MESSAGE_MAX - 1);
        err->message[SDN_ERROR_MESSAGE_MAX - 1] = '\0';
    }
    return status;
}

}  // namespace sdn

extern "C" const char * sdn_status_name(sdn_status status) {
    switch (status) {
        case SDN_OK: return "SDN_OK";
        case SDN_ERR_INVALID_ARGUMENT: return "SDN_ERR_INVALID_ARGUMENT";
        case SDN_ERR_OUT_OF_MEMORY: return "SDN_ERR_OUT_OF_MEMORY";
        case SDN_ERR_IO: return "SDN_ERR_IO";
        case SDN_ERR_FORMAT: return "SDN_ERR_FORMAT";
        case SDN_ERR_UNSUPPORTED: return "SDN_ERR_UNSUPPORTED";
        case SDN_ERR_SHAPE: return "SDN_ERR_SHAPE";
        case SDN_ERR_NOT_FOUND: return "SDN_ERR_NOT_FOUND";
        case SDN_ERR_ABORTED: return "SDN_ERR_ABORTED";
        case SDN_ERR_BACKEND: return "SDN_ERR_BACKEND";
        case SDN_ERR_INTERNAL: return "SDN_ERR_INTERNAL";
    }
    return "SDN_ERR_UNKNOWN";
}

extern "C" const char * sdn_version(void) {
#define SDN_STR2(x) #x
#define SDN_STR(x) SDN_STR2(x)
    return SDN_STR(SDN_VERSION_MAJOR) "." SDN_STR(SDN_VERSION_MINOR) "." SDN_STR(SDN_VERSION_PATCH);
}
