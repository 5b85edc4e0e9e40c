#include "cuda/graph_recorder.h"

#include "core/error.h"
#include "cuda/cuda_check.h"

#include <cstddef>
#include <cstring>
#include <iterator>

namespace sdn::cuda {

namespace {
constexpr uint64_t kSignatureSeed = 1469598103934665603ull;
constexpr size_t kMaxGraphs = 16;  // recordings kept per backend (each holds its scratch blocks)
}  // namespace

GraphRecorder::~GraphRecorder() {
    for (auto & kv : graphs_) destroy(kv.second);
}

void GraphRecorder::destroy(Graph & g) noexcept {
    if (g.exec != nullptr) cudaGraphExecDestroy(g.exec);
    for (auto & in : g.inputs)
        if (in.pinned != nullptr) cudaFreeHost(in.pinned);
    pool_.release_held(g.held);
    cudaGetLastError();
    g = Graph();
}

void GraphRecorder::begin(const void * owner, uint64_t key) {
    if (depth_++ > 0) return;
    key_ = Key(owner, key);
    signature_ = kSignatureSeed;
    ops_ = 0;
    inputs_used_ = 0;
    current_ = nullptr;
    auto it = graphs_.find(key_);
    if (it != graphs_.end()) {
        mode_ = Mode::Replay;
        current_ = &it->second;
        return;
    }
    if (seen_[key_]++ == 0 || graphs_.size() >= kMaxGraphs) {
        mode_ = Mode::Eager;  // first call: arenas settle, library plans are made
        eager_uploads_[key_].clear();
        return;
    }
    // The pinned input buffers are made before the capture starts (sizes from the eager run), so nothing
    // is allocated on the host while the stream captures.
    Graph g;
    for (size_t bytes : eager_uploads_[key_]) {
        Input in;
        in.bytes = bytes;
        if (cudaMallocHost(&in.pinned, bytes) != cudaSuccess) {
            cudaGetLastError();
            destroy(g);
            mode_ = Mode::Eager;
            return;
        }
        g.inputs.push_back(in);
    }
    // Relaxed: allocations the pool may need (cudaMalloc) and pinned input buffers are allowed meanwhile.
    const cudaError_t e = cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed);
    if (e != cudaSuccess) {
        cudaGetLastError();
        destroy(g);
        mode_ = Mode::Eager;  // run this call eagerly; the next one tries again
        seen_[key_] = 1;
        return;
    }
    pool_.begin_capture();
    current_ = &(graphs_[key_] = std::move(g));
    mode_ = Mode::Capture;
}

bool GraphRecorder::skip_op(uint32_t op, std::initializer_list<uint64_t> args) {
    if (mode_ != Mode::Capture && mode_ != Mode::Replay) return false;
    fold(op);
    for (uint64_t a : args) fold(a);
    ++ops_;
    return mode_ == Mode::Replay;
}

bool GraphRecorder::upload(void * dst, const void * src, size_t bytes) {
    if (mode_ == Mode::Eager) {
        eager_uploads_[key_].push_back(bytes);
        return false;
    }
    if (mode_ == Mode::Capture) {
        // The buffer made for this upload before the capture; one more only if the sequence changed.
        if (inputs_used_ >= current_->inputs.size() || current_->inputs[inputs_used_].bytes != bytes) {
            Input extra;
            extra.bytes = bytes;
            check_cuda(cudaMallocHost(&extra.pinned, bytes), "pinned graph input");
            current_->inputs.insert(current_->inputs.begin() + static_cast<std::ptrdiff_t>(inputs_used_), extra);
        }
        Input & in = current_->inputs[inputs_used_++];
        std::memcpy(in.pinned, src, bytes);
        check_cuda(cudaMemcpyAsync(dst, in.pinned, bytes, cudaMemcpyHostToDevice, stream_), "graph input copy");
        fold(0xC0FFEEu);
        fold(bytes);
        ++ops_;
        return true;
    }
    if (mode_ == Mode::Replay) {
        // The previous launch of this graph has finished reading the inputs: every section ends with a
        // download, which waits for the stream.
        require(inputs_used_ < current_->inputs.size() && current_->inputs[inputs_used_].bytes == bytes, SDN_ERR_INTERNAL,
                "CUDA graph replay: upload " + std::to_string(inputs_used_) + " of " + std::to_string(bytes) +
                    " bytes differs from the recording (set SDN_CUDA_GRAPHS=0 and report this)");
        std::memcpy(current_->inputs[inputs_used_++].pinned, src, bytes);
        fold(0xC0FFEEu);
        fold(bytes);
        ++ops_;
        return true;
    }
    return false;
}

void GraphRecorder::launch_pending() {
    if (mode_ == Mode::Capture) {
        cudaGraph_t graph = nullptr;
        const cudaError_t e = cudaStreamEndCapture(stream_, &graph);
        current_->held = pool_.end_capture();
        current_->signature = signature_;
        current_->ops = ops_;
        while (current_->inputs.size() > inputs_used_) {  // made for uploads this capture did not do
            cudaFreeHost(current_->inputs.back().pinned);
            current_->inputs.pop_back();
        }
        if (e == cudaSuccess) {
            const cudaError_t ie = cudaGraphInstantiate(&current_->exec, graph, 0);
            cudaGraphDestroy(graph);
            if (ie != cudaSuccess) current_->exec = nullptr;
            check_cuda(ie, "cudaGraphInstantiate");
        }
        check_cuda(e, "cudaStreamEndCapture");
        mode_ = Mode::Launched;
        check_cuda(cudaGraphLaunch(current_->exec, stream_), "cudaGraphLaunch");
        return;
    }
    if (mode_ == Mode::Replay) {
        mode_ = Mode::Launched;
        require(signature_ == current_->signature && ops_ == current_->ops && inputs_used_ == current_->inputs.size(),
                SDN_ERR_INTERNAL,
                "CUDA graph replay: the op sequence differs from the recording (" + std::to_string(ops_) + " ops vs " +
                    std::to_string(current_->ops) + "); set SDN_CUDA_GRAPHS=0 and report this");
        check_cuda(cudaGraphLaunch(current_->exec, stream_), "cudaGraphLaunch");
        ++replays_;
    }
}

void GraphRecorder::before_host_sync() {
    if (mode_ != Mode::Capture && mode_ != Mode::Replay) return;
    try {
        launch_pending();
    } catch (...) {
        // A recording that failed is dropped so the next call of the key runs eagerly again.
        drop_current();
        mode_ = Mode::Launched;
        throw;
    }
}

void GraphRecorder::drop_current() noexcept {
    auto it = graphs_.find(key_);
    if (it != graphs_.end()) {
        destroy(it->second);
        graphs_.erase(it);
    }
    seen_.erase(key_);
    current_ = nullptr;
}

void GraphRecorder::end(bool completed) noexcept {
    if (depth_ == 0 || --depth_ > 0) return;
    if (mode_ == Mode::Capture || mode_ == Mode::Replay) {
        if (completed) {
            try {
                before_host_sync();
            } catch (...) {
                // The error (if it is the device's) resurfaces at the next synchronising call.
            }
        } else if (mode_ == Mode::Capture) {
            cudaGraph_t graph = nullptr;
            if (cudaStreamEndCapture(stream_, &graph) == cudaSuccess && graph != nullptr) cudaGraphDestroy(graph);
            cudaGetLastError();
            current_->held = pool_.end_capture();
            drop_current();
        } else {
            // A replay interrupted by an error (a divergence, or a cancel): record afresh next time.
            drop_current();
        }
    }
    mode_ = Mode::Off;
    current_ = nullptr;
}

void GraphRecorder::forget(const void * owner) noexcept {
    for (auto it = graphs_.begin(); it != graphs_.end();) {
        if (it->first.first == owner) {
            destroy(it->second);
            it = graphs_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = seen_.begin(); it != seen_.end();) it = it->first.first == owner ? seen_.erase(it) : std::next(it);
    for (auto it = eager_uploads_.begin(); it != eager_uploads_.end();)
        it = it->first.first == owner ? eager_uploads_.erase(it) : std::next(it);
}

}  // namespace sdn::cuda
