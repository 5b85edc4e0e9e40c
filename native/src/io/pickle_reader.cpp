#include "io/pickle_reader.h"

#include "core/error.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace sdn::io::pickle {

const char * kind_name(Kind kind) {
    switch (kind) {
        case Kind::None: return "None";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::Float: return "float";
        case Kind::Str: return "str";
        case Kind::Bytes: return "bytes";
        case Kind::Tuple: return "tuple";
        case Kind::List: return "list";
        case Kind::Dict: return "dict";
        case Kind::Global: return "global";
        case Kind::Storage: return "storage";
        case Kind::Tensor: return "tensor";
        case Kind::Opaque: return "object";
    }
    return "?";
}

namespace {

struct AllowedGlobal {
    const char * module;
    const char * name;
    GlobalId id;
    sdn_dtype dtype;
};

constexpr AllowedGlobal kAllowed[] = {
    {"collections", "OrderedDict", GlobalId::OrderedDict, SDN_DTYPE_F32},
    {"torch._utils", "_rebuild_tensor_v2", GlobalId::RebuildTensorV2, SDN_DTYPE_F32},
    {"torch._utils", "_rebuild_tensor", GlobalId::RebuildTensor, SDN_DTYPE_F32},
    {"torch._utils", "_rebuild_parameter", GlobalId::RebuildParameter, SDN_DTYPE_F32},
    {"torch._utils", "_rebuild_parameter_with_state", GlobalId::RebuildParameterWithState, SDN_DTYPE_F32},
    {"torch", "FloatStorage", GlobalId::StorageType, SDN_DTYPE_F32},
    {"torch", "HalfStorage", GlobalId::StorageType, SDN_DTYPE_F16},
    {"torch", "BFloat16Storage", GlobalId::StorageType, SDN_DTYPE_BF16},
    {"torch", "DoubleStorage", GlobalId::StorageType, SDN_DTYPE_F64},
    {"torch", "LongStorage", GlobalId::StorageType, SDN_DTYPE_I64},
    {"torch", "IntStorage", GlobalId::StorageType, SDN_DTYPE_I32},
    {"torch", "ShortStorage", GlobalId::StorageType, SDN_DTYPE_I16},
    {"torch", "CharStorage", GlobalId::StorageType, SDN_DTYPE_I8},
    {"torch", "ByteStorage", GlobalId::StorageType, SDN_DTYPE_U8},
    {"torch", "BoolStorage", GlobalId::StorageType, SDN_DTYPE_BOOL},
    {"torch", "device", GlobalId::Device, SDN_DTYPE_F32},
    // Data-only classes found outside the state dict of real SD checkpoints: inert, never tensors.
    {"numpy.core.multiarray", "scalar", GlobalId::Inert, SDN_DTYPE_F32},
    {"numpy.core.multiarray", "_reconstruct", GlobalId::Inert, SDN_DTYPE_F32},
    {"numpy", "dtype", GlobalId::Inert, SDN_DTYPE_F32},
    {"numpy", "ndarray", GlobalId::Inert, SDN_DTYPE_F32},
    {"_codecs", "encode", GlobalId::Inert, SDN_DTYPE_F32},
    {"pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint", GlobalId::Inert, SDN_DTYPE_F32},
};

std::string printable(const std::string & s) {
    std::string out;
    for (unsigned char c : s.substr(0, 200)) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (s.size() > 200) out += "...";
    return out;
}

bool is_int(const Object * o) { return o->kind == Kind::Int || o->kind == Kind::Bool; }

}  // namespace

Unpickler::Unpickler(const uint8_t * data, size_t size, std::string source)
    : data_(data), size_(size), source_(std::move(source)) {}

void Unpickler::error(const std::string & what) const {
    fail(SDN_ERR_FORMAT, source_ + ": pickle: " + what + " (opcode at byte " + std::to_string(op_pos_) + ")");
}

Object * Unpickler::make(Kind kind) {
    if (arena_.size() >= kMaxObjects) error("builds more than " + std::to_string(kMaxObjects) + " objects");
    arena_.push_back(std::make_unique<Object>());
    arena_.back()->kind = kind;
    return arena_.back().get();
}

void Unpickler::need(size_t n) const {
    if (size_ - pos_ < n) error("truncated: " + std::to_string(n) + " more bytes needed");
}

uint8_t Unpickler::byte() {
    need(1);
    return data_[pos_++];
}

uint64_t Unpickler::le(int n) {
    need(static_cast<size_t>(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | data_[pos_ + static_cast<size_t>(i)];
    pos_ += static_cast<size_t>(n);
    return v;
}

Object * Unpickler::pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) error("stack underflow");
    Object * o = stack_.back();
    stack_.pop_back();
    return o;
}

Object * Unpickler::top() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) error("stack underflow");
    return stack_.back();
}

std::vector<Object *> Unpickler::pop_mark() {
    if (marks_.empty()) error("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Object *> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
}

void Unpickler::memo_put(uint64_t index, Object * obj) {
    // A pickler numbers memo entries from 0, one per PUT, so an index can never exceed the pickle size.
    if (index > size_) error("memo index " + std::to_string(index) + " is out of range");
    memo_[index] = obj;
}

Object * Unpickler::memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) error("memo index " + std::to_string(index) + " was never stored");
    return it->second;
}

Object * Unpickler::resolve_global(const std::string & module, const std::string & name) {
    for (const auto & g : kAllowed) {
        if (module == g.module && name == g.name) {
            Object * o = make(Kind::Global);
            o->global = g.id;
            o->dtype = g.dtype;
            o->text = module + "." + name;
            return o;
        }
    }
    fail(SDN_ERR_FORMAT, "refused to load global '" + printable(module) + "." + printable(name) + "' from " + source_ +
                             ": only torch state-dict types are allowed");
}

Object * Unpickler::persistent_load(Object * pid) {
    if (pid->kind != Kind::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::Str ||
        pid->items[0]->text != "storage")
        error("persistent id is not ('storage', type, key, location, numel)");
    Object * type = pid->items[1];
    Object * key = pid->items[2];
    Object * location = pid->items[3];
    Object * numel = pid->items[4];
    if (type->kind != Kind::Global || type->global != GlobalId::StorageType)
        error(std::string("persistent id names a ") + (type->kind == Kind::Global ? "'" + type->text + "'" : kind_name(type->kind)) +
              " where a torch storage class was expected");
    if (key->kind != Kind::Str || key->text.empty()) error("persistent id has no storage key");
    if (location->kind != Kind::Str) error("persistent id location is not a string");
    if (!is_int(numel) || numel->integer < 0) error("persistent id numel is not a non-negative integer");
    Object * s = make(Kind::Storage);
    s->dtype = type->dtype;
    s->storage_key = key->text;
    s->location = location->text;
    s->storage_numel = static_cast<uint64_t>(numel->integer);
    return s;
}

Object * Unpickler::call(Object * callable, Object * args, const char * opcode) {
    if (callable->kind != Kind::Global)
        error(std::string(opcode) + " on a " + kind_name(callable->kind) + ", which is not an allowed callable");
    if (args->kind != Kind::Tuple) error(std::string(opcode) + " arguments are not a tuple");
    const std::vector<Object *> & a = args->items;
    auto int_tuple = [&](Object * t, const char * what, std::vector<int64_t> & out) {
        if (t->kind != Kind::Tuple && t->kind != Kind::List) error(std::string("tensor ") + what + " is not a tuple");
        for (Object * v : t->items) {
            if (!is_int(v)) error(std::string("tensor ") + what + " holds a " + kind_name(v->kind));
            out.push_back(v->integer);
        }
    };
    switch (callable->global) {
        case GlobalId::OrderedDict: {
            Object * d = make(Kind::Dict);
            if (a.empty()) return d;
            if (a.size() == 1 && (a[0]->kind == Kind::List || a[0]->kind == Kind::Tuple)) {
                for (Object * kv : a[0]->items) {
                    if ((kv->kind != Kind::Tuple && kv->kind != Kind::List) || kv->items.size() != 2)
                        error("OrderedDict items are not pairs");
                    d->items.push_back(kv->items[0]);
                    d->items.push_back(kv->items[1]);
                }
                return d;
            }
            error("unexpected OrderedDict arguments");
        }
        case GlobalId::RebuildTensorV2:
        case GlobalId::RebuildTensor: {
            const bool v2 = callable->global == GlobalId::RebuildTensorV2;
            if (v2 ? (a.size() != 6 && a.size() != 7) : a.size() != 4)
                error(callable->text + " called with " + std::to_string(a.size()) + " arguments");
            if (a[0]->kind != Kind::Storage) error(callable->text + ": first argument is not a storage");
            if (!is_int(a[1]) || a[1]->integer < 0) error(callable->text + ": bad storage offset");
            Object * t = make(Kind::Tensor);
            t->storage = a[0];
            t->dtype = a[0]->dtype;
            t->storage_offset = a[1]->integer;
            int_tuple(a[2], "size", t->size);
            int_tuple(a[3], "stride", t->stride);
            if (t->size.size() != t->stride.size())
                error(callable->text + ": size has " + std::to_string(t->size.size()) + " dimensions but stride has " +
                      std::to_string(t->stride.size()));
            return t;
        }
        case GlobalId::RebuildParameter:
        case GlobalId::RebuildParameterWithState: {
            const size_t n = callable->global == GlobalId::RebuildParameter ? 3 : 4;
            if (a.size() != n) error(callable->text + " called with " + std::to_string(a.size()) + " arguments");
            if (a[0]->kind != Kind::Tensor) error(callable->text + ": first argument is not a tensor");
            return a[0];
        }
        case GlobalId::Device:
        case GlobalId::Inert: {
            Object * o = make(Kind::Opaque);
            o->text = callable->text;
            return o;
        }
        case GlobalId::StorageType: break;
    }
    fail(SDN_ERR_FORMAT, "refused to call '" + callable->text + "' (" + opcode + ") in " + source_ +
                             ": only torch state-dict constructors may be called");
}

Object * Unpickler::load() {
    for (;;) {
        op_pos_ = pos_;
        const uint8_t op = byte();
        switch (op) {
            case 0x80: {  // PROTO
                const uint8_t v = byte();
                if (v > 5) fail(SDN_ERR_UNSUPPORTED, source_ + ": pickle protocol " + std::to_string(v) + " is not supported");
                break;
            }
            case 0x95: le(8); break;  // FRAME: a framing hint; the data follows inline
            case '.': {               // STOP
                if (stack_.size() != 1 || !marks_.empty()) error("STOP with " + std::to_string(stack_.size()) + " items on the stack");
                return stack_.back();
            }
            case '(': marks_.push_back(stack_.size()); break;  // MARK
            case '0': pop(); break;                              // POP
            case '1': pop_mark(); break;                         // POP_MARK
            case '2': stack_.push_back(top()); break;            // DUP
            case 'N': stack_.push_back(make(Kind::None)); break;
            case 0x88:
            case 0x89: {  // NEWTRUE / NEWFALSE
                Object * o = make(Kind::Bool);
                o->boolean = op == 0x88;
                o->integer = o->boolean ? 1 : 0;
                stack_.push_back(o);
                break;
            }
            case 'J': {  // BININT
                Object * o = make(Kind::Int);
                o->integer = static_cast<int32_t>(static_cast<uint32_t>(le(4)));
                stack_.push_back(o);
                break;
            }
            case 'K':
            case 'M': {  // BININT1 / BININT2
                Object * o = make(Kind::Int);
                o->integer = static_cast<int64_t>(le(op == 'K' ? 1 : 2));
                stack_.push_back(o);
                break;
            }
            case 0x8a:
            case 0x8b: {  // LONG1 / LONG4
                const uint64_t n = op == 0x8a ? le(1) : le(4);
                if (n > 8) error("integer of " + std::to_string(n) + " bytes does not fit 64 bits");
                Object * o = make(Kind::Int);
                if (n > 0) {
                    uint64_t v = le(static_cast<int>(n));
                    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign-extend
                    o->integer = static_cast<int64_t>(v);
                }
                stack_.push_back(o);
                break;
            }
            case 'G': {  // BINFLOAT (big-endian)
                need(8);
                uint64_t bits = 0;
                for (int i = 0; i < 8; ++i) bits = (bits << 8) | data_[pos_ + static_cast<size_t>(i)];
                pos_ += 8;
                Object * o = make(Kind::Float);
                std::memcpy(&o->real, &bits, 8);
                stack_.push_back(o);
                break;
            }
            case 'X': case 0x8c: case 0x8d:            // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
            case 'T': case 'U':                        // BINSTRING, SHORT_BINSTRING (py2 str)
            case 'B': case 'C': case 0x8e: case 0x96: {  // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
                const int width = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e || op == 0x96) ? 8 : 4;
                uint64_t n = le(width);
                if (op == 'T' && n > 0x7fffffffu) error("negative BINSTRING length");
                need(static_cast<size_t>(std::min<uint64_t>(n, SIZE_MAX)));
                const bool text = op == 'X' || op == 0x8c || op == 0x8d || op == 'T' || op == 'U';
                Object * o = make(text ? Kind::Str : Kind::Bytes);
                o->text.assign(reinterpret_cast<const char *>(data_ + pos_), static_cast<size_t>(n));
                pos_ += static_cast<size_t>(n);
                stack_.push_back(o);
                break;
            }
            case ')': stack_.push_back(make(Kind::Tuple)); break;  // EMPTY_TUPLE
            case 't': {                                            // TUPLE
                Object * o = make(Kind::Tuple);
                o->items = pop_mark();
                stack_.push_back(o);
                break;
            }
            case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
                const size_t n = static_cast<size_t>(op - 0x84);
                Object * o = make(Kind::Tuple);
                o->items.resize(n);
                for (size_t i = n; i-- > 0;) o->items[i] = pop();
                stack_.push_back(o);
                break;
            }
            case ']': stack_.push_back(make(Kind::List)); break;  // EMPTY_LIST
            case 'l': {                                           // LIST
                Object * o = make(Kind::List);
                o->items = pop_mark();
                stack_.push_back(o);
                break;
            }
            case 'a': {  // APPEND
                Object * v = pop();
                Object * l = top();
                if (l->kind != Kind::List) error(std::string("APPEND to a ") + kind_name(l->kind));
                l->items.push_back(v);
                break;
            }
            case 'e': {  // APPENDS
                std::vector<Object *> items = pop_mark();
                Object * l = top();
                if (l->kind != Kind::List) error(std::string("APPENDS to a ") + kind_name(l->kind));
                l->items.insert(l->items.end(), items.begin(), items.end());
                break;
            }
            case '}': stack_.push_back(make(Kind::Dict)); break;  // EMPTY_DICT
            case 'd': {                                           // DICT
                std::vector<Object *> items = pop_mark();
                if (items.size() % 2) error("DICT with an odd number of items");
                Object * o = make(Kind::Dict);
                o->items = std::move(items);
                stack_.push_back(o);
                break;
            }
            case 's': {  // SETITEM
                Object * v = pop();
                Object * k = pop();
                Object * d = top();
                if (d->kind != Kind::Dict) error(std::string("SETITEM on a ") + kind_name(d->kind));
                d->items.push_back(k);
                d->items.push_back(v);
                break;
            }
            case 'u': {  // SETITEMS
                std::vector<Object *> items = pop_mark();
                if (items.size() % 2) error("SETITEMS with an odd number of items");
                Object * d = top();
                if (d->kind != Kind::Dict) error(std::string("SETITEMS on a ") + kind_name(d->kind));
                d->items.insert(d->items.end(), items.begin(), items.end());
                break;
            }
            case 'q': memo_put(le(1), top()); break;  // BINPUT
            case 'r': memo_put(le(4), top()); break;  // LONG_BINPUT
            case 0x94: memo_put(memo_.size(), top()); break;  // MEMOIZE
            case 'h': stack_.push_back(memo_get(le(1))); break;  // BINGET
            case 'j': stack_.push_back(memo_get(le(4))); break;  // LONG_BINGET
            case 'c': {  // GLOBAL: "module\nname\n"
                std::string parts[2];
                for (auto & part : parts) {
                    const size_t start = pos_;
                    while (pos_ < size_ && data_[pos_] != '\n' && pos_ - start < 256) ++pos_;
                    if (pos_ >= size_ || data_[pos_] != '\n') error("GLOBAL name is truncated or too long");
                    part.assign(reinterpret_cast<const char *>(data_ + start), pos_ - start);
                    ++pos_;
                }
                stack_.push_back(resolve_global(parts[0], parts[1]));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                Object * name = pop();
                Object * module = pop();
                if (module->kind != Kind::Str || name->kind != Kind::Str) error("STACK_GLOBAL operands are not strings");
                stack_.push_back(resolve_global(module->text, name->text));
                break;
            }
            case 'R': {  // REDUCE
                Object * args = pop();
                Object * callable = pop();
                stack_.push_back(call(callable, args, "REDUCE"));
                break;
            }
            case 0x81: {  // NEWOBJ
                Object * args = pop();
                Object * cls = pop();
                stack_.push_back(call(cls, args, "NEWOBJ"));
                break;
            }
            case 0x92: {  // NEWOBJ_EX
                Object * kwargs = pop();
                Object * args = pop();
                Object * cls = pop();
                if (kwargs->kind != Kind::Dict || !kwargs->items.empty()) error("NEWOBJ_EX with keyword arguments");
                stack_.push_back(call(cls, args, "NEWOBJ_EX"));
                break;
            }
            case 'b': {  // BUILD: sets state on an object; state is data only and is ignored
                pop();
                top();
                break;
            }
            case 'Q': {  // BINPERSID
                Object * pid = pop();
                stack_.push_back(persistent_load(pid));
                break;
            }
            default: {
                char buf[64];
                if (op >= 0x20 && op < 0x7f)
                    std::snprintf(buf, sizeof buf, "0x%02x '%c'", op, op);
                else
                    std::snprintf(buf, sizeof buf, "0x%02x", op);
                fail(SDN_ERR_FORMAT, source_ + ": pickle: unknown or unsupported opcode " + buf + " at byte " +
                                         std::to_string(op_pos_) + "; not a torch state dict");
            }
        }
    }
}

}  // namespace sdn::io::pickle
