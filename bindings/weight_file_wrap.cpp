#include "weight_file_wrap.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon_data.h"
#include "errors.h"
#include "promise_worker.h"

namespace sdn_binding {

namespace {

Napi::Value shape_array(Napi::Env env, const sdn_tensor_info & t) {
    Napi::Array a = Napi::Array::New(env, static_cast<size_t>(t.ndim));
    for (int i = 0; i < t.ndim; ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.shape[i])));
    return a;
}

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        float mag = static_cast<float>(man) * (1.0f / 16777216.0f);
        std::memcpy(&bits, &mag, 4);
        bits |= sign;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// NativeWeightFile
// ---------------------------------------------------------------------------------------------------

void WeightFileWrap::Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeWeightFile",
                                      {
                                          InstanceMethod<&WeightFileWrap::Tensors>("tensors"),
                                          InstanceMethod<&WeightFileWrap::Read>("read"),
                                          InstanceMethod<&WeightFileWrap::Metadata>("metadata"),
                                          InstanceMethod<&WeightFileWrap::Dispose>("dispose"),
                                          InstanceAccessor<&WeightFileWrap::GetFormat>("format"),
                                          InstanceAccessor<&WeightFileWrap::GetCount>("count"),
                                      });
    addon_data(env).weight_file_constructor = Napi::Persistent(ctor);
    exports.Set("NativeWeightFile", ctor);
    exports.Set("openWeightFile", Napi::Function::New(env, OpenWeightFile, "openWeightFile"));
    exports.Set("writeSafetensors", Napi::Function::New(env, WriteSafetensors, "writeSafetensors"));
}

bool WeightFileWrap::IsInstance(Napi::Env env, Napi::Value v) {
    return v.IsObject() && v.As<Napi::Object>().InstanceOf(addon_data(env).weight_file_constructor.Value());
}

WeightFileWrap::WeightFileWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<WeightFileWrap>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
        make_argument_error(info.Env(), "NativeWeightFile cannot be constructed directly; use openWeightFile()").ThrowAsJavaScriptException();
        return;
    }
    file_ = info[0].As<Napi::External<sdn_weight_file>>().Data();
}

WeightFileWrap::~WeightFileWrap() { sdn_weight_file_free(file_); }

bool WeightFileWrap::check_open(Napi::Env env) {
    if (file_ != nullptr) return true;
    Napi::Error e = Napi::Error::New(env, "the weight file has been disposed");
    e.Set("code", Napi::String::New(env, "ERR_DISPOSED"));
    e.ThrowAsJavaScriptException();
    return false;
}

Napi::Value WeightFileWrap::Tensors(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!check_open(env)) return env.Undefined();
    const size_t n = sdn_weight_file_count(file_);
    Napi::Array out = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; ++i) {
        sdn_tensor_info t;
        sdn_error err;
        if (sdn_weight_file_tensor_info(file_, i, &t, &err) != SDN_OK) {
            make_error(env, err).ThrowAsJavaScriptException();
            return env.Undefined();
        }
        Napi::Object o = Napi::Object::New(env);
        o.Set("name", Napi::String::New(env, t.name));
        o.Set("dtype", Napi::String::New(env, sdn_dtype_name(t.dtype)));
        o.Set("shape", shape_array(env, t));
        o.Set("nbytes", Napi::Number::New(env, static_cast<double>(t.nbytes)));
        out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
}

// read(name) -> Float32Array (F32/F16/BF16 widened) | Float64Array | BigInt64Array | Int32Array | ... (a copy)
Napi::Value WeightFileWrap::Read(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!check_open(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsString()) {
        make_argument_error(env, "read(name: string)").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    size_t index = 0;
    sdn_error err;
    sdn_tensor_info t;
    if (sdn_weight_file_find(file_, name.c_str(), &index, &err) != SDN_OK ||
        sdn_weight_file_tensor_info(file_, index, &t, &err) != SDN_OK) {
        make_error(env, err).ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const size_t elem = sdn_dtype_size(t.dtype);
    const size_t count = elem ? static_cast<size_t>(t.nbytes / elem) : 0;
    auto copy_raw = [&](size_t bytes) {
        Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, bytes);
        if (bytes) std::memcpy(ab.Data(), t.data, bytes);
        return ab;
    };
    switch (t.dtype) {
        case SDN_DTYPE_F32: return Napi::Float32Array::New(env, count, copy_raw(t.nbytes), 0);
        case SDN_DTYPE_F16:
        case SDN_DTYPE_BF16: {
            Napi::Float32Array out = Napi::Float32Array::New(env, count);
            const uint8_t * src = static_cast<const uint8_t *>(t.data);
            for (size_t i = 0; i < count; ++i) {
                uint16_t h;
                std::memcpy(&h, src + 2 * i, 2);
                if (t.dtype == SDN_DTYPE_F16) {
                    out[i] = half_to_float(h);
                } else {
                    uint32_t bits = static_cast<uint32_t>(h) << 16;
                    float f;
                    std::memcpy(&f, &bits, 4);
                    out[i] = f;
                }
            }
            return out;
        }
        case SDN_DTYPE_F64: return Napi::Float64Array::New(env, count, copy_raw(t.nbytes), 0);
        case SDN_DTYPE_I64: return Napi::TypedArrayOf<int64_t>::New(env, count, copy_raw(t.nbytes), 0, napi_bigint64_array);
        case SDN_DTYPE_I32: return Napi::Int32Array::New(env, count, copy_raw(t.nbytes), 0);
        case SDN_DTYPE_I16: return Napi::Int16Array::New(env, count, copy_raw(t.nbytes), 0);
        case SDN_DTYPE_I8: return Napi::Int8Array::New(env, count, copy_raw(t.nbytes), 0);
        case SDN_DTYPE_U8:
        case SDN_DTYPE_BOOL: return Napi::Uint8Array::New(env, count, copy_raw(t.nbytes), 0);
    }
    make_error(env, SDN_ERR_UNSUPPORTED, "unknown dtype").ThrowAsJavaScriptException();
    return env.Undefined();
}

Napi::Value WeightFileWrap::Metadata(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!check_open(env)) return env.Undefined();
    size_t need = 0;
    sdn_error err;
    sdn_weight_file_metadata_json(file_, nullptr, 0, &need, &err);
    std::vector<char> buf(need > 0 ? need : 3);
    if (sdn_weight_file_metadata_json(file_, buf.data(), buf.size(), &need, &err) != SDN_OK) {
        make_error(env, err).ThrowAsJavaScriptException();
        return env.Undefined();
    }
    return Napi::String::New(env, buf.data());
}

Napi::Value WeightFileWrap::Dispose(const Napi::CallbackInfo & info) {
    sdn_weight_file_free(file_);  // weight maps built from the file keep what they need alive
    file_ = nullptr;
    return info.Env().Undefined();
}

Napi::Value WeightFileWrap::GetFormat(const Napi::CallbackInfo & info) {
    if (file_ == nullptr) return info.Env().Null();
    return Napi::String::New(info.Env(), sdn_weight_file_format(file_) == SDN_WEIGHT_FORMAT_TORCH_ZIP ? "torch" : "safetensors");
}

Napi::Value WeightFileWrap::GetCount(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), static_cast<double>(sdn_weight_file_count(file_)));
}

Napi::Value OpenWeightFile(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
        make_argument_error(env, "openWeightFile(path: string)").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    auto path = std::make_shared<std::string>(info[0].As<Napi::String>().Utf8Value());
    auto holder = std::make_shared<sdn_weight_file *>(nullptr);
    return PromiseWorker::Start(
        env, "sd-native openWeightFile", [=](sdn_error & err) { return sdn_weight_file_open(path->c_str(), holder.get(), &err); },
        [holder](Napi::Env e) -> Napi::Value {
            sdn_weight_file * f = *holder;
            *holder = nullptr;
            return addon_data(e).weight_file_constructor.New({Napi::External<sdn_weight_file>::New(e, f)});
        });
}

// writeSafetensors(path, tensors: [{name, dtype, shape, data}], metadata?) -> Promise<void>
Napi::Value WriteSafetensors(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
        make_argument_error(env, "writeSafetensors(path: string, tensors: Array, metadata?: object)").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    struct Job {
        std::string path;
        std::vector<std::string> names;
        std::vector<sdn_tensor_desc> descs;
        std::vector<std::vector<uint8_t>> data;
        std::vector<std::string> keys, values;
    };
    auto job = std::make_shared<Job>();
    job->path = info[0].As<Napi::String>().Utf8Value();
    Napi::Array arr = info[1].As<Napi::Array>();
    const uint32_t n = arr.Length();
    job->names.resize(n);
    job->descs.resize(n);
    job->data.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
        Napi::Value v = arr.Get(i);
        if (!v.IsObject()) {
            make_argument_error(env, "writeSafetensors: tensors[" + std::to_string(i) + "] is not an object").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        Napi::Object o = v.As<Napi::Object>();
        Napi::Value name = o.Get("name"), dtype = o.Get("dtype"), shape = o.Get("shape"), data = o.Get("data");
        if (!name.IsString() || !dtype.IsString() || !shape.IsArray() || !data.IsTypedArray()) {
            make_argument_error(env, "writeSafetensors: tensors[" + std::to_string(i) + "] needs name, dtype, shape and data (TypedArray)")
                .ThrowAsJavaScriptException();
            return env.Undefined();
        }
        sdn_tensor_desc & d = job->descs[i];
        std::memset(&d, 0, sizeof d);
        job->names[i] = name.As<Napi::String>().Utf8Value();
        const std::string dt = dtype.As<Napi::String>().Utf8Value();
        const char * names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"};
        int found = -1;
        for (int k = 0; k < 10; ++k)
            if (dt == names[k]) found = k;
        if (found < 0) {
            make_argument_error(env, "writeSafetensors: unknown dtype " + dt).ThrowAsJavaScriptException();
            return env.Undefined();
        }
        d.dtype = static_cast<sdn_dtype>(found);
        Napi::Array sh = shape.As<Napi::Array>();
        if (sh.Length() > SDN_MAX_DIMS) {
            make_argument_error(env, "writeSafetensors: too many dimensions").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        d.ndim = static_cast<int>(sh.Length());
        for (uint32_t k = 0; k < sh.Length(); ++k) d.shape[k] = static_cast<int64_t>(sh.Get(k).ToNumber().DoubleValue());
        Napi::TypedArray ta = data.As<Napi::TypedArray>();
        const uint8_t * bytes = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
        job->data[i].assign(bytes, bytes + ta.ByteLength());
    }
    if (info.Length() > 2 && info[2].IsObject()) {
        Napi::Object md = info[2].As<Napi::Object>();
        Napi::Array keys = md.GetPropertyNames();
        for (uint32_t k = 0; k < keys.Length(); ++k) {
            job->keys.push_back(keys.Get(k).ToString().Utf8Value());
            job->values.push_back(md.Get(keys.Get(k)).ToString().Utf8Value());
        }
    }
    return PromiseWorker::Start(env, "sd-native writeSafetensors", [job](sdn_error & err) {
        for (size_t i = 0; i < job->descs.size(); ++i) {
            job->descs[i].name = job->names[i].c_str();
            job->descs[i].data = job->data[i].data();
        }
        std::vector<const char *> k, v;
        for (size_t i = 0; i < job->keys.size(); ++i) {
            k.push_back(job->keys[i].c_str());
            v.push_back(job->values[i].c_str());
        }
        return sdn_safetensors_write(job->path.c_str(), job->descs.data(), job->descs.size(), k.data(), v.data(), k.size(), &err);
    }, nullptr);
}

// ---------------------------------------------------------------------------------------------------
// NativeWeightMap
// ---------------------------------------------------------------------------------------------------

void WeightMapWrap::Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeWeightMap",
                                      {
                                          InstanceMethod<&WeightMapWrap::Add>("add"),
                                          InstanceMethod<&WeightMapWrap::Dispose>("dispose"),
                                          InstanceAccessor<&WeightMapWrap::GetCount>("count"),
                                      });
    addon_data(env).weight_map_constructor = Napi::Persistent(ctor);
    exports.Set("NativeWeightMap", ctor);
}

bool WeightMapWrap::IsInstance(Napi::Env env, Napi::Value v) {
    return v.IsObject() && v.As<Napi::Object>().InstanceOf(addon_data(env).weight_map_constructor.Value());
}

WeightMapWrap::WeightMapWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<WeightMapWrap>(info) {
    sdn_error err;
    if (sdn_weight_map_create(&map_, &err) != SDN_OK) make_error(info.Env(), err).ThrowAsJavaScriptException();
}

WeightMapWrap::~WeightMapWrap() { sdn_weight_map_free(map_); }

// add(name, file: NativeWeightFile, tensor, rowBegin = -1, rowEnd = -1)
Napi::Value WeightMapWrap::Add(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (map_ == nullptr) {
        make_argument_error(env, "the weight map has been disposed").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    if (info.Length() < 3 || !info[0].IsString() || !WeightFileWrap::IsInstance(env, info[1]) || !info[2].IsString()) {
        make_argument_error(env, "add(name: string, file: NativeWeightFile, tensor: string, rowBegin?: number, rowEnd?: number)")
            .ThrowAsJavaScriptException();
        return env.Undefined();
    }
    sdn_weight_file * file = WeightFileWrap::Unwrap(info[1].As<Napi::Object>())->native();
    if (file == nullptr) {
        make_argument_error(env, "add: the weight file has been disposed").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const int64_t rb = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : -1;
    const int64_t re = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int64Value() : -1;
    sdn_error err;
    if (sdn_weight_map_add(map_, info[0].As<Napi::String>().Utf8Value().c_str(), file, info[2].As<Napi::String>().Utf8Value().c_str(),
                           rb, re, &err) != SDN_OK) {
        make_error(env, err).ThrowAsJavaScriptException();
    }
    return env.Undefined();
}

Napi::Value WeightMapWrap::Dispose(const Napi::CallbackInfo & info) {
    sdn_weight_map_free(map_);  // models built from it keep what they need
    map_ = nullptr;
    return info.Env().Undefined();
}

Napi::Value WeightMapWrap::GetCount(const Napi::CallbackInfo & info) {
    return Napi::Number::New(info.Env(), static_cast<double>(sdn_weight_map_count(map_)));
}

}  // namespace sdn_binding
