// Safetensors reader/writer: round trips of every dtype, the streaming writer, and one case per
// validation rule (status + a message naming the file and the problem). Also the strict JSON parser and
// the reference tiny-sd1 UNet when the shared reference folder is present.
#include "io/json.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "sd_native.h"
#include "test_framework.h"

#include "core/error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

std::string temp_dir() {
    static std::string dir = [] {
        char tmpl[] = "/tmp/sdn_io_st_XXXXXX";
        const char * d = mkdtemp(tmpl);
        return std::string(d ? d : "/tmp");
    }();
    return dir;
}

std::string temp_path(const std::string & name) { return temp_dir() + "/" + name; }

void write_file(const std::string & path, const std::string & bytes) {
    FILE * f = std::fopen(path.c_str(), "wb");
    if (!f) return;
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
}

bool file_exists(const std::string & path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

std::string le64(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

// A safetensors file from a header (padded to 8) and `data_bytes` bytes of data.
std::string make_st(const std::string & header, size_t data_bytes) {
    std::string h = header;
    while (h.size() % 8) h += ' ';
    return le64(h.size()) + h + std::string(data_bytes, '\x11');
}

struct OpenResult {
    sdn_status status;
    std::string message;
};

OpenResult open_bytes(const std::string & name, const std::string & bytes) {
    const std::string path = temp_path(name);
    write_file(path, bytes);
    sdn_weight_file * f = nullptr;
    sdn_error err;
    const sdn_status st = sdn_weight_file_open(path.c_str(), &f, &err);
    OpenResult r{st, err.message};
    sdn_weight_file_free(f);
    if (st != SDN_OK && f != nullptr) r.message += " [out not NULL on failure]";
    return r;
}

bool contains(const std::string & hay, const std::string & needle) { return hay.find(needle) != std::string::npos; }

void expect_failure(const char * name, const std::string & bytes, sdn_status status,
                    const std::vector<std::string> & needles) {
    const OpenResult r = open_bytes(name, bytes);
    CHECK_MSG(r.status == status, std::string(name) + ": got " + sdn_status_name(r.status) + " '" + r.message + "'");
    CHECK_MSG(contains(r.message, temp_path(name)), std::string(name) + ": message does not name the file: " + r.message);
    for (const auto & n : needles)
        CHECK_MSG(contains(r.message, n), std::string(name) + ": message '" + r.message + "' lacks '" + n + "'");
}

}  // namespace

TEST(io_safetensors_roundtrip_all_dtypes) {
    const sdn_dtype dtypes[] = {SDN_DTYPE_F32, SDN_DTYPE_F16, SDN_DTYPE_BF16, SDN_DTYPE_F64, SDN_DTYPE_I64,
                                SDN_DTYPE_I32, SDN_DTYPE_I16, SDN_DTYPE_I8,   SDN_DTYPE_U8,  SDN_DTYPE_BOOL};
    std::vector<sdn_tensor_desc> descs;
    std::vector<std::vector<uint8_t>> payloads;
    std::vector<std::string> names;
    int k = 0;
    for (sdn_dtype dt : dtypes) {
        names.push_back(std::string("t.") + sdn_dtype_name(dt));
        sdn_tensor_desc d{};
        d.dtype = dt;
        d.ndim = 3;
        d.shape[0] = 2;
        d.shape[1] = 3;
        d.shape[2] = 1 + (k % 3);
        const size_t n = static_cast<size_t>(2 * 3 * d.shape[2]) * sdn_dtype_size(dt);
        std::vector<uint8_t> bytes(n);
        for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 31 + k * 7);
        if (dt == SDN_DTYPE_BOOL)
            for (auto & b : bytes) b &= 1;
        payloads.push_back(bytes);
        descs.push_back(d);
        ++k;
    }
    // A 0-d scalar and an empty tensor.
    names.push_back("scalar");
    sdn_tensor_desc s{};
    s.dtype = SDN_DTYPE_F32;
    s.ndim = 0;
    descs.push_back(s);
    payloads.push_back({0, 0, 0x80, 0x3f});
    names.push_back("empty");
    sdn_tensor_desc e{};
    e.dtype = SDN_DTYPE_F16;
    e.ndim = 2;
    e.shape[0] = 4;
    e.shape[1] = 0;
    descs.push_back(e);
    payloads.push_back({});
    for (size_t i = 0; i < descs.size(); ++i) {
        descs[i].name = names[i].c_str();
        descs[i].data = payloads[i].empty() ? nullptr : payloads[i].data();
    }
    const char * keys[] = {"format", "note"};
    const char * values[] = {"pt", "quote \" backslash \\ newline \n unicode \xc3\xa9"};
    const std::string path = temp_path("all_dtypes.safetensors");
    sdn_error err;
    CHECK(sdn_safetensors_write(path.c_str(), descs.data(), descs.size(), keys, values, 2, &err) == SDN_OK);
    CHECK_MSG(err.status == SDN_OK, err.message);
    CHECK(!file_exists(path + ".partial"));

    sdn_weight_file * f = nullptr;
    CHECK(sdn_weight_file_open(path.c_str(), &f, &err) == SDN_OK);
    if (!f) {
        CHECK_MSG(false, err.message);
        return;
    }
    CHECK(sdn_weight_file_format(f) == SDN_WEIGHT_FORMAT_SAFETENSORS);
    CHECK(sdn_weight_file_count(f) == descs.size());
    for (size_t i = 0; i < descs.size(); ++i) {
        sdn_tensor_info info;
        CHECK(sdn_weight_file_tensor_info(f, i, &info, &err) == SDN_OK);
        CHECK(std::string(info.name) == names[i]);
        CHECK(info.dtype == descs[i].dtype);
        CHECK(info.ndim == descs[i].ndim);
        for (int d = 0; d < info.ndim; ++d) CHECK(info.shape[d] == descs[i].shape[d]);
        for (int d = info.ndim; d < SDN_MAX_DIMS; ++d) CHECK(info.shape[d] == 0);
        CHECK(info.nbytes == payloads[i].size());
        if (info.nbytes) {
            CHECK(info.data != nullptr && std::memcmp(info.data, payloads[i].data(), info.nbytes) == 0);
            // The header is padded to 8 bytes; the first tensor starts 8-aligned in the mapping.
            if (i == 0) CHECK(reinterpret_cast<uintptr_t>(info.data) % 8 == 0);
        } else {
            CHECK(info.data == nullptr);
        }
        size_t idx = 99;
        CHECK(sdn_weight_file_find(f, names[i].c_str(), &idx, &err) == SDN_OK && idx == i);
    }
    size_t need = 0;
    CHECK(sdn_weight_file_metadata_json(f, nullptr, 0, &need, &err) == SDN_ERR_INVALID_ARGUMENT);
    std::vector<char> buf(need);
    CHECK(sdn_weight_file_metadata_json(f, buf.data(), buf.size(), &need, &err) == SDN_OK);
    CHECK_MSG(std::string(buf.data()) ==
                  "{\"format\":\"pt\",\"note\":\"quote \\\" backslash \\\\ newline \\n unicode \xc3\xa9\"}",
              buf.data());
    sdn_tensor_info info;
    CHECK(sdn_weight_file_tensor_info(f, descs.size(), &info, &err) == SDN_ERR_INVALID_ARGUMENT);
    sdn_weight_file_free(f);
    sdn_weight_file_free(nullptr);

    // The file's header length is a multiple of 8.
    auto set = sdn::io::read_safetensors(path);
    CHECK(set.mapping->size() >= 8);
    uint64_t hl = 0;
    std::memcpy(&hl, set.mapping->data(), 8);
    CHECK(hl % 8 == 0);
}

TEST(io_safetensors_weight_dtype_rule_and_lookup) {
    int64_t ids[3] = {0, 1, 2};
    float w[2] = {1.5f, -2.0f};
    sdn_tensor_desc d[2] = {};
    d[0].name = "position_ids";
    d[0].dtype = SDN_DTYPE_I64;
    d[0].ndim = 1;
    d[0].shape[0] = 3;
    d[0].data = ids;
    d[1].name = "w";
    d[1].dtype = SDN_DTYPE_F32;
    d[1].ndim = 1;
    d[1].shape[0] = 2;
    d[1].data = w;
    const std::string path = temp_path("weights_rule.safetensors");
    CHECK(sdn_safetensors_write(path.c_str(), d, 2, nullptr, nullptr, 0, nullptr) == SDN_OK);
    sdn_weight_file * f = nullptr;
    sdn_error err;
    CHECK(sdn_weight_file_open(path.c_str(), &f, &err) == SDN_OK);
    sdn_tensor_info info;
    CHECK(sdn_weight_file_get_weight(f, "w", &info, &err) == SDN_OK);
    float back[2];
    std::memcpy(back, info.data, 8);
    CHECK(back[0] == 1.5f && back[1] == -2.0f);
    CHECK(sdn_weight_file_get_weight(f, "position_ids", &info, &err) == SDN_ERR_UNSUPPORTED);
    CHECK_MSG(contains(err.message, "tensor 'position_ids' has dtype I64; weights must be F32, F16 or BF16"), err.message);
    CHECK(contains(err.message, path));
    size_t idx;
    CHECK(sdn_weight_file_find(f, "position_ids", &idx, &err) == SDN_OK && idx == 0);
    CHECK(sdn_weight_file_find(f, "nope", &idx, &err) == SDN_ERR_NOT_FOUND);
    CHECK(contains(err.message, "no tensor named 'nope'") && contains(err.message, path));
    CHECK(sdn_weight_file_get_weight(f, "nope", &info, &err) == SDN_ERR_NOT_FOUND);
    char small[2];
    size_t need = 0;
    CHECK(sdn_weight_file_metadata_json(f, small, sizeof small, &need, &err) == SDN_ERR_INVALID_ARGUMENT && need == 3);
    char ok[3];
    CHECK(sdn_weight_file_metadata_json(f, ok, sizeof ok, &need, &err) == SDN_OK && std::string(ok) == "{}");
    sdn_weight_file_free(f);
    // NULL arguments.
    CHECK(sdn_weight_file_open(path.c_str(), nullptr, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(sdn_weight_file_open(nullptr, &f, &err) == SDN_ERR_INVALID_ARGUMENT && f == nullptr);
    CHECK(sdn_weight_file_count(nullptr) == 0);
    CHECK(sdn_weight_file_tensor_info(nullptr, 0, &info, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(std::string(sdn_dtype_name(static_cast<sdn_dtype>(15))) == "?" && sdn_dtype_size(static_cast<sdn_dtype>(15)) == 0);
}

namespace {
struct FillState {
    int calls = 0;
    int abort_at = -1;
};
int fill_pattern(size_t index, uint64_t offset, void * buffer, size_t size, void * user) {
    auto * st = static_cast<FillState *>(user);
    if (st->calls++ == st->abort_at) return 1;
    auto * b = static_cast<uint8_t *>(buffer);
    for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>((offset + i) * 13 + index);
    return 0;
}
}  // namespace

TEST(io_safetensors_stream_writer) {
    // Three tensors, one larger than a 16 MiB chunk, so chunking and offsets are exercised.
    sdn_tensor_desc d[3] = {};
    d[0].name = "big";
    d[0].dtype = SDN_DTYPE_F32;
    d[0].ndim = 2;
    d[0].shape[0] = 4097;
    d[0].shape[1] = 1025;  // 16.8 MB
    d[1].name = "small";
    d[1].dtype = SDN_DTYPE_BF16;
    d[1].ndim = 1;
    d[1].shape[0] = 5;
    d[2].name = "none";
    d[2].dtype = SDN_DTYPE_F16;
    d[2].ndim = 1;
    d[2].shape[0] = 0;
    const std::string path = temp_path("stream.safetensors");
    const char * keys[] = {"kind"};
    const char * vals[] = {"random"};
    FillState st;
    sdn_error err;
    CHECK(sdn_safetensors_write_stream(path.c_str(), d, 3, keys, vals, 1, fill_pattern, &st, &err) == SDN_OK);
    CHECK_MSG(err.status == SDN_OK, err.message);
    CHECK(st.calls == 3);  // 2 chunks for "big", 1 for "small", none for the empty tensor
    sdn_weight_file * f = nullptr;
    CHECK(sdn_weight_file_open(path.c_str(), &f, &err) == SDN_OK);
    if (f) {
        for (size_t t = 0; t < 3; ++t) {
            sdn_tensor_info info;
            CHECK(sdn_weight_file_tensor_info(f, t, &info, &err) == SDN_OK);
            const auto * b = static_cast<const uint8_t *>(info.data);
            bool same = true;
            for (uint64_t i = 0; i < info.nbytes; ++i)
                if (b[i] != static_cast<uint8_t>(i * 13 + t)) same = false;
            CHECK_MSG(same, info.name);
        }
        CHECK(sdn_weight_file_tensor_info(f, 0, nullptr, &err) == SDN_ERR_INVALID_ARGUMENT);
        sdn_weight_file_free(f);
    }
    // The callback stops the write: ABORTED, and neither the file nor the partial file is left.
    const std::string path2 = temp_path("stream_aborted.safetensors");
    FillState stop;
    stop.abort_at = 1;
    CHECK(sdn_safetensors_write_stream(path2.c_str(), d, 3, nullptr, nullptr, 0, fill_pattern, &stop, &err) ==
          SDN_ERR_ABORTED);
    CHECK(contains(err.message, "'big'"));
    CHECK(!file_exists(path2) && !file_exists(path2 + ".partial"));
}

TEST(io_safetensors_writer_rejects_bad_descriptions) {
    float v = 1;
    sdn_tensor_desc d[2] = {};
    d[0].name = "a";
    d[0].dtype = SDN_DTYPE_F32;
    d[0].ndim = 1;
    d[0].shape[0] = 1;
    d[0].data = &v;
    d[1] = d[0];
    sdn_error err;
    const std::string path = temp_path("bad_write.safetensors");
    CHECK(sdn_safetensors_write(path.c_str(), d, 2, nullptr, nullptr, 0, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(contains(err.message, "'a' appears twice"));
    d[1].name = "__metadata__";
    CHECK(sdn_safetensors_write(path.c_str(), d, 2, nullptr, nullptr, 0, &err) == SDN_ERR_INVALID_ARGUMENT);
    d[1].name = "b";
    d[1].shape[0] = -1;
    CHECK(sdn_safetensors_write(path.c_str(), d, 2, nullptr, nullptr, 0, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(contains(err.message, "negative"));
    d[1].shape[0] = 1;
    d[1].ndim = 9;
    CHECK(sdn_safetensors_write(path.c_str(), d, 2, nullptr, nullptr, 0, &err) == SDN_ERR_INVALID_ARGUMENT);
    d[1].ndim = 1;
    d[1].dtype = static_cast<sdn_dtype>(15);
    CHECK(sdn_safetensors_write(path.c_str(), d, 2, nullptr, nullptr, 0, &err) == SDN_ERR_INVALID_ARGUMENT);
    d[1].dtype = SDN_DTYPE_F32;
    d[1].data = nullptr;
    CHECK(sdn_safetensors_write(path.c_str(), d, 2, nullptr, nullptr, 0, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(contains(err.message, "'b' has no data"));
    CHECK(sdn_safetensors_write("/nonexistent-dir/x.safetensors", d, 1, nullptr, nullptr, 0, &err) == SDN_ERR_IO);
    CHECK(contains(err.message, "/nonexistent-dir/x.safetensors"));
    CHECK(!file_exists(path) && !file_exists(path + ".partial"));
}

TEST(io_safetensors_validation_failures) {
    const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
    // Sanity: the base case opens.
    CHECK(open_bytes("base.safetensors", make_st("{" + ok_entry + "}", 16)).status == SDN_OK);

    expect_failure("tiny.safetensors", std::string("\x05\x00\x00", 3), SDN_ERR_FORMAT, {"too small", "8-byte header length"});
    expect_failure("empty.safetensors", "", SDN_ERR_FORMAT, {"empty"});
    expect_failure("hlen0.safetensors", le64(0) + "{}", SDN_ERR_FORMAT, {"header length is 0"});
    expect_failure("hlen_absurd.safetensors", le64(1ull << 40) + "{}", SDN_ERR_FORMAT, {"absurd"});
    expect_failure("hlen_past_eof.safetensors", le64(4096) + "{" + ok_entry + "}", SDN_ERR_FORMAT,
                   {"header length 4096 exceeds the file size"});
    {
        std::string full = make_st("{" + ok_entry + "}", 16);
        expect_failure("truncated_data.safetensors", full.substr(0, full.size() - 5), SDN_ERR_FORMAT,
                       {"tensor 'w'", "outside the data section"});
        expect_failure("truncated_header.safetensors", full.substr(0, 20), SDN_ERR_FORMAT, {"exceeds the file size"});
    }
    expect_failure("not_object.safetensors", make_st("[1,2]", 0), SDN_ERR_FORMAT, {"does not start with '{'"});
    expect_failure("bad_json.safetensors", make_st("{\"w\":", 0), SDN_ERR_FORMAT, {"not valid JSON"});
    expect_failure("trailing_comma.safetensors", make_st("{" + ok_entry + ",}", 16), SDN_ERR_FORMAT,
                   {"not valid JSON", "expected a string key"});
    expect_failure("json_garbage_after.safetensors", make_st("{" + ok_entry + "}x", 16), SDN_ERR_FORMAT,
                   {"unexpected data after the JSON value"});
    expect_failure("dup_key.safetensors", make_st("{" + ok_entry + "," + ok_entry + "}", 16), SDN_ERR_FORMAT,
                   {"duplicate key \"w\""});
    expect_failure("bad_utf8.safetensors", make_st("{\"w\xff\":{}}", 0), SDN_ERR_FORMAT, {"invalid UTF-8"});
    expect_failure("ctrl_char.safetensors", make_st("{\"w\x01\":{}}", 0), SDN_ERR_FORMAT, {"control character"});
    expect_failure("deep.safetensors", make_st("{\"w\":" + std::string(200, '[') + std::string(200, ']') + "}", 0),
                   SDN_ERR_FORMAT, {"nested deeper"});
    expect_failure("entry_not_object.safetensors", make_st(R"({"w":[1]})", 0), SDN_ERR_FORMAT,
                   {"tensor 'w'", "entry must be an object"});
    expect_failure("missing_dtype.safetensors", make_st(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8),
                   SDN_ERR_FORMAT, {"tensor 'w'", "missing field 'dtype'"});
    expect_failure("missing_shape.safetensors", make_st(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", 8),
                   SDN_ERR_FORMAT, {"tensor 'w'", "missing field 'shape'"});
    expect_failure("missing_offsets.safetensors", make_st(R"({"w":{"dtype":"F32","shape":[2]}})", 8), SDN_ERR_FORMAT,
                   {"tensor 'w'", "missing field 'data_offsets'"});
    expect_failure("dtype_not_string.safetensors", make_st(R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", 8),
                   SDN_ERR_FORMAT, {"tensor 'w'", "field 'dtype' must be a string, got a number"});
    expect_failure("shape_not_array.safetensors",
                   make_st(R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", 8), SDN_ERR_FORMAT,
                   {"field 'shape' must be an array, got a string"});
    expect_failure("shape_negative.safetensors", make_st(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                   SDN_ERR_FORMAT, {"tensor 'w'", "shape[0] must be a non-negative integer"});
    expect_failure("shape_fraction.safetensors",
                   make_st(R"({"w":{"dtype":"F32","shape":[2, 1.5],"data_offsets":[0,8]}})", 8), SDN_ERR_FORMAT,
                   {"shape[1] must be a non-negative integer"});
    expect_failure("shape_string.safetensors",
                   make_st(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", 8), SDN_ERR_FORMAT,
                   {"shape[0] must be a non-negative integer, got a string"});
    expect_failure("offsets_one.safetensors", make_st(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", 8),
                   SDN_ERR_FORMAT, {"must have 2 entries"});
    expect_failure("offsets_type.safetensors",
                   make_st(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}})", 8), SDN_ERR_FORMAT,
                   {"data_offsets[1] must be a non-negative integer"});
    expect_failure("offsets_reversed.safetensors",
                   make_st(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), SDN_ERR_FORMAT,
                   {"end before they begin"});
    expect_failure("unknown_dtype.safetensors", make_st(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 2),
                   SDN_ERR_UNSUPPORTED, {"tensor 'w'", "unknown dtype 'F8_E4M3'"});
    expect_failure("too_many_dims.safetensors",
                   make_st(R"({"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})", 1),
                   SDN_ERR_UNSUPPORTED, {"9 dimensions"});
    expect_failure("size_mismatch.safetensors", make_st(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", 16),
                   SDN_ERR_FORMAT, {"tensor 'w'", "[2, 3] x F32 is 24 bytes", "hold 16"});
    expect_failure("shape_overflow.safetensors",
                   make_st(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})", 16),
                   SDN_ERR_FORMAT, {"tensor 'w'", "overflows"});
    expect_failure("outside.safetensors", make_st(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}})", 16),
                   SDN_ERR_FORMAT, {"tensor 'w'", "outside the data section"});
    expect_failure("overlap.safetensors",
                   make_st(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16),
                   SDN_ERR_FORMAT, {"tensor 'b'", "overlap tensor 'a'"});
    expect_failure("gap.safetensors",
                   make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
                   SDN_ERR_FORMAT, {"tensor 'b'", "gap of 4"});
    expect_failure("trailing.safetensors", make_st("{" + ok_entry + "}", 20), SDN_ERR_FORMAT, {"4 trailing bytes"});
    expect_failure("meta_not_object.safetensors", make_st(R"({"__metadata__":"x"})", 0), SDN_ERR_FORMAT,
                   {"__metadata__ must be an object"});
    expect_failure("meta_not_string.safetensors", make_st(R"({"__metadata__":{"epoch":3}})", 0), SDN_ERR_FORMAT,
                   {"__metadata__ value 'epoch' must be a string, got a number"});
    expect_failure("empty_name.safetensors", make_st(R"({"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0),
                   SDN_ERR_FORMAT, {"empty name"});
    expect_failure("nul_name.safetensors", make_st(R"({"a\u0000b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0),
                   SDN_ERR_FORMAT, {"NUL"});

    // Metadata-only and empty files are valid (an empty header object, no data).
    CHECK(open_bytes("only_meta.safetensors", make_st(R"({"__metadata__":{"a":"b"}})", 0)).status == SDN_OK);
    CHECK(open_bytes("empty_obj.safetensors", make_st("{}", 0)).status == SDN_OK);

    // I/O errors.
    sdn_weight_file * f = nullptr;
    sdn_error err;
    const std::string missing = temp_path("does_not_exist.safetensors");
    CHECK(sdn_weight_file_open(missing.c_str(), &f, &err) == SDN_ERR_IO && f == nullptr);
    CHECK(contains(err.message, missing) && contains(err.message, "No such file"));
    CHECK(sdn_weight_file_open(temp_dir().c_str(), &f, &err) == SDN_ERR_IO);
    CHECK(contains(err.message, "not a regular file"));
}

TEST(io_safetensors_views_outlive_the_reader) {
    float v[3] = {1, 2, 3};
    const std::string path = temp_path("keepalive.safetensors");
    sdn::io::write_safetensors(path, {{"v", SDN_DTYPE_F32, {3}}}, {v}, {});
    sdn::io::TensorView view;
    std::shared_ptr<const sdn::io::MappedFile> keep;
    {
        sdn::io::TensorSet set = sdn::io::read_safetensors(path);
        view = *set.find("v");
        keep = set.mapping;
    }
    ::unlink(path.c_str());  // the mapping survives the file's removal and the set's destruction
    float back[3];
    std::memcpy(back, view.data, sizeof back);
    CHECK(back[0] == 1 && back[1] == 2 && back[2] == 3);
    CHECK(keep.use_count() == 1);
}

TEST(io_json_parser_strictness) {
    using sdn::io::parse_json;
    auto ok = [](const std::string & s) {
        try {
            parse_json(s.data(), s.size());
            return true;
        } catch (const sdn::Error &) {
            return false;
        }
    };
    CHECK(ok(R"({"a":[1,-2,3.5e2,true,false,null,"x\u00e9\ud83d\ude00\n"]})"));
    CHECK(ok("  {}  "));
    CHECK(!ok("{} {}"));
    CHECK(!ok("{'a':1}"));
    CHECK(!ok("[1,]"));
    CHECK(!ok("[01]"));
    CHECK(!ok("[1.]"));
    CHECK(!ok("[.5]"));
    CHECK(!ok("[NaN]"));
    CHECK(!ok("[\"\\ud800\"]"));      // lone high surrogate
    CHECK(!ok("[\"\\udc00\"]"));      // lone low surrogate
    CHECK(!ok("[\"\xc0\xaf\"]"));     // overlong UTF-8
    CHECK(!ok("[\"\xed\xa0\x80\"]")); // UTF-8-encoded surrogate
    CHECK(!ok("[\"\\x\"]"));
    CHECK(!ok("// c\n{}"));
    CHECK(!ok(""));
    CHECK(!ok("[tru]"));
    const std::string s = R"({"n":18446744073709551615,"m":18446744073709551616,"f":1.0,"neg":-1})";
    auto v = parse_json(s.data(), s.size());
    CHECK(v.get("n")->is_uint && v.get("n")->uint_value == UINT64_MAX);
    CHECK(!v.get("m")->is_uint);
    CHECK(!v.get("f")->is_uint);
    CHECK(!v.get("neg")->is_uint);
    CHECK(v.get("missing") == nullptr);
    const std::string u = R"(["\ud83d\ude00"])";
    auto w = parse_json(u.data(), u.size());
    CHECK(w.array[0].string == "\xf0\x9f\x98\x80");
}

TEST(io_safetensors_reference_tiny_sd1_unet) {
    const std::string path = "/work/shared/reference/models/tiny-sd1/unet/diffusion_pytorch_model.safetensors";
    if (!file_exists(path)) {
        sdn_test::skip("reference model not present: " + path);
        return;
    }
    sdn_weight_file * f = nullptr;
    sdn_error err;
    CHECK(sdn_weight_file_open(path.c_str(), &f, &err) == SDN_OK);
    if (!f) {
        CHECK_MSG(false, err.message);
        return;
    }
    CHECK(sdn_weight_file_count(f) > 100);
    sdn_tensor_info info;
    CHECK(sdn_weight_file_get_weight(f, "conv_in.weight", &info, &err) == SDN_OK);
    CHECK(info.dtype == SDN_DTYPE_F32 && info.ndim == 4);
    CHECK(info.shape[0] == 8 && info.shape[1] == 4 && info.shape[2] == 3 && info.shape[3] == 3);
    CHECK(info.nbytes == 8 * 4 * 3 * 3 * 4);
    char meta[256];
    CHECK(sdn_weight_file_metadata_json(f, meta, sizeof meta, nullptr, &err) == SDN_OK);
    CHECK(contains(meta, "\"format\":\"pt\""));
    sdn_weight_file_free(f);
}
