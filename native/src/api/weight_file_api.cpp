// C API: weight files (safetensors, torch zip checkpoints) and the safetensors writer.
#include "api/weight_file_internal.h"
#include "core/error.h"
#include "io/json.h"
#include "io/safetensors_writer.h"
#include "io/weight_file.h"

#include <cstring>

using namespace sdn;

struct sdn_weight_file {
    // Shared so weight maps built from this file keep it alive after sdn_weight_file_free.
    std::shared_ptr<io::TensorSet> owner = std::make_shared<io::TensorSet>();
    io::TensorSet & set = *owner;
};

std::shared_ptr<const io::TensorSet> sdn::weight_file_tensor_set(const sdn_weight_file * file) { return file->owner; }

namespace {

void fill_info(const io::TensorView & t, sdn_tensor_info * out) {
    std::memset(out, 0, sizeof *out);
    out->name = t.name.c_str();
    out->dtype = t.dtype;
    out->ndim = static_cast<int>(t.shape.size());
    for (size_t i = 0; i < t.shape.size() && i < SDN_MAX_DIMS; ++i) out->shape[i] = t.shape[i];
    out->nbytes = t.nbytes;
    out->data = t.nbytes ? t.data : nullptr;
}

std::vector<io::TensorSpec> to_specs(const char * fn, const sdn_tensor_desc * tensors, size_t count) {
    require(tensors != nullptr || count == 0, SDN_ERR_INVALID_ARGUMENT, std::string(fn) + ": tensors is NULL");
    std::vector<io::TensorSpec> specs(count);
    for (size_t i = 0; i < count; ++i) {
        const sdn_tensor_desc & d = tensors[i];
        require(d.name != nullptr, SDN_ERR_INVALID_ARGUMENT, std::string(fn) + ": tensor " + std::to_string(i) + " has a NULL name");
        require(d.ndim >= 0 && d.ndim <= SDN_MAX_DIMS, SDN_ERR_INVALID_ARGUMENT,
                std::string(fn) + ": tensor '" + d.name + "' has ndim " + std::to_string(d.ndim) + " outside [0, " +
                    std::to_string(SDN_MAX_DIMS) + "]");
        specs[i].name = d.name;
        specs[i].dtype = d.dtype;
        specs[i].shape.assign(d.shape, d.shape + d.ndim);
    }
    return specs;
}

io::Metadata to_metadata(const char * fn, const char * const * keys, const char * const * values, size_t count) {
    require(count == 0 || (keys != nullptr && values != nullptr), SDN_ERR_INVALID_ARGUMENT,
            std::string(fn) + ": metadata arrays are NULL");
    io::Metadata m;
    for (size_t i = 0; i < count; ++i) {
        require(keys[i] != nullptr && values[i] != nullptr, SDN_ERR_INVALID_ARGUMENT,
                std::string(fn) + ": metadata entry " + std::to_string(i) + " is NULL");
        m.emplace_back(keys[i], values[i]);
    }
    return m;
}

}  // namespace

extern "C" {

const char * sdn_dtype_name(sdn_dtype dtype) { return io::dtype_name(dtype); }
size_t sdn_dtype_size(sdn_dtype dtype) { return io::dtype_size(dtype); }

sdn_status sdn_weight_file_open(const char * path, sdn_weight_file ** out, sdn_error * err) {
    return guarded(err, [&] {
        require(out != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_weight_file_open: out is NULL");
        *out = nullptr;
        require(path != nullptr && *path, SDN_ERR_INVALID_ARGUMENT, "sdn_weight_file_open: path is NULL or empty");
        auto f = std::make_unique<sdn_weight_file>();
        f->set = io::open_weight_file(path);
        *out = f.release();
    });
}

void sdn_weight_file_free(sdn_weight_file * file) { delete file; }

sdn_weight_format sdn_weight_file_format(const sdn_weight_file * file) {
    return file != nullptr ? file->set.format : SDN_WEIGHT_FORMAT_SAFETENSORS;
}

size_t sdn_weight_file_count(const sdn_weight_file * file) { return file != nullptr ? file->set.tensors.size() : 0; }

sdn_status sdn_weight_file_tensor_info(const sdn_weight_file * file, size_t index, sdn_tensor_info * out,
                                       sdn_error * err) {
    return guarded(err, [&] {
        require(file != nullptr && out != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_weight_file_tensor_info: file or out is NULL");
        require(index < file->set.tensors.size(), SDN_ERR_INVALID_ARGUMENT,
                "sdn_weight_file_tensor_info: index " + std::to_string(index) + " is out of range (" +
                    file->set.path + " has " + std::to_string(file->set.tensors.size()) + " tensors)");
        fill_info(file->set.tensors[index], out);
    });
}

sdn_status sdn_weight_file_find(const sdn_weight_file * file, const char * name, size_t * index, sdn_error * err) {
    return guarded(err, [&] {
        require(file != nullptr && name != nullptr && index != nullptr, SDN_ERR_INVALID_ARGUMENT,
                "sdn_weight_file_find: file, name or index is NULL");
        const io::TensorView * t = file->set.find(name);
        if (t == nullptr) fail(SDN_ERR_NOT_FOUND, file->set.path + ": no tensor named '" + name + "'");
        *index = static_cast<size_t>(t - file->set.tensors.data());
    });
}

sdn_status sdn_weight_file_get_weight(const sdn_weight_file * file, const char * name, sdn_tensor_info * out,
                                      sdn_error * err) {
    return guarded(err, [&] {
        require(file != nullptr && name != nullptr && out != nullptr, SDN_ERR_INVALID_ARGUMENT,
                "sdn_weight_file_get_weight: file, name or out is NULL");
        fill_info(file->set.weight(name), out);
    });
}

sdn_status sdn_weight_file_metadata_json(const sdn_weight_file * file, char * buffer, size_t capacity,
                                         size_t * required, sdn_error * err) {
    return guarded(err, [&] {
        require(file != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_weight_file_metadata_json: file is NULL");
        std::string json = "{";
        for (size_t i = 0; i < file->set.metadata.size(); ++i) {
            if (i) json += ',';
            io::json_quote(json, file->set.metadata[i].first);
            json += ':';
            io::json_quote(json, file->set.metadata[i].second);
        }
        json += '}';
        if (required != nullptr) *required = json.size() + 1;
        require(buffer != nullptr && capacity >= json.size() + 1, SDN_ERR_INVALID_ARGUMENT,
                "sdn_weight_file_metadata_json: buffer too small (need " + std::to_string(json.size() + 1) + " bytes)");
        std::memcpy(buffer, json.c_str(), json.size() + 1);
    });
}

sdn_status sdn_safetensors_write(const char * path, const sdn_tensor_desc * tensors, size_t count,
                                 const char * const * metadata_keys, const char * const * metadata_values,
                                 size_t metadata_count, sdn_error * err) {
    return guarded(err, [&] {
        require(path != nullptr && *path, SDN_ERR_INVALID_ARGUMENT, "sdn_safetensors_write: path is NULL or empty");
        std::vector<io::TensorSpec> specs = to_specs("sdn_safetensors_write", tensors, count);
        std::vector<const void *> data(count);
        for (size_t i = 0; i < count; ++i) data[i] = tensors[i].data;
        io::write_safetensors(path, specs, data,
                              to_metadata("sdn_safetensors_write", metadata_keys, metadata_values, metadata_count));
    });
}

sdn_status sdn_safetensors_write_stream(const char * path, const sdn_tensor_desc * tensors, size_t count,
                                        const char * const * metadata_keys, const char * const * metadata_values,
                                        size_t metadata_count, sdn_tensor_fill_callback fill, void * user_data,
                                        sdn_error * err) {
    return guarded(err, [&] {
        require(path != nullptr && *path, SDN_ERR_INVALID_ARGUMENT, "sdn_safetensors_write_stream: path is NULL or empty");
        require(fill != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_safetensors_write_stream: fill is NULL");
        std::vector<io::TensorSpec> specs = to_specs("sdn_safetensors_write_stream", tensors, count);
        io::write_safetensors_stream(
            path, specs, to_metadata("sdn_safetensors_write_stream", metadata_keys, metadata_values, metadata_count),
            [&](size_t index, uint64_t offset, void * buffer, size_t size) {
                return fill(index, offset, buffer, size, user_data) == 0;
            });
    });
}

}  // extern "C"
