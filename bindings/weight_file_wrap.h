// NativeWeightFile (an open safetensors / torch checkpoint, memory-mapped) and NativeWeightMap
// (diffusers-named views of such files, what a model is built from).
#pragma once

#include <napi.h>

#include "sd_native.h"

namespace sdn_binding {

class WeightFileWrap : public Napi::ObjectWrap<WeightFileWrap> {
public:
    static void Init(Napi::Env env, Napi::Object exports);
    static bool IsInstance(Napi::Env env, Napi::Value v);
    explicit WeightFileWrap(const Napi::CallbackInfo & info);
    ~WeightFileWrap() override;
    sdn_weight_file * native() const { return file_; }

private:
    Napi::Value Tensors(const Napi::CallbackInfo & info);
    Napi::Value Read(const Napi::CallbackInfo & info);
    Napi::Value Metadata(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
    Napi::Value GetFormat(const Napi::CallbackInfo & info);
    Napi::Value GetCount(const Napi::CallbackInfo & info);
    bool check_open(Napi::Env env);
    sdn_weight_file * file_ = nullptr;
};

class WeightMapWrap : public Napi::ObjectWrap<WeightMapWrap> {
public:
    static void Init(Napi::Env env, Napi::Object exports);
    static bool IsInstance(Napi::Env env, Napi::Value v);
    explicit WeightMapWrap(const Napi::CallbackInfo & info);
    ~WeightMapWrap() override;
    sdn_weight_map * native() const { return map_; }

private:
    Napi::Value Add(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info);
    Napi::Value GetCount(const Napi::CallbackInfo & info);
    sdn_weight_map * map_ = nullptr;
};

// openWeightFile(path) -> Promise<NativeWeightFile>
Napi::Value OpenWeightFile(const Napi::CallbackInfo & info);
// writeSafetensors(path, [{name, dtype, shape, data: TypedArray}], metadata?: Record<string,string>) -> Promise<void>
Napi::Value WriteSafetensors(const Napi::CallbackInfo & info);

}  // namespace sdn_binding
