// CUDA graphs for the backend's replayable sections (Backend::begin_replay / end_replay): the first call of
// a key runs eagerly (it settles arenas and makes library plans), the second is captured on the backend's
// stream into a graph, and every later call replays it with one cudaGraphLaunch instead of one launch per
// op. While a recorded section replays, ops only fold their arguments into a signature (checked against the
// recording before launching) and uploads copy their host data into the pinned buffers the recorded copies
// read from. Options: CudaBackendOptions::graphs (SDN_CUDA_GRAPHS=1).
#pragma once

#include "cuda/device_pool.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sdn::cuda {

class GraphRecorder {
public:
    GraphRecorder(DevicePool & pool, cudaStream_t stream) : pool_(pool), stream_(stream) {}
    ~GraphRecorder();
    GraphRecorder(const GraphRecorder &) = delete;
    GraphRecorder & operator=(const GraphRecorder &) = delete;

    void begin(const void * owner, uint64_t key);
    // Launches a pending recording (completed) or drops a half-made one (exception); never throws.
    void end(bool completed) noexcept;
    void forget(const void * owner) noexcept;

    // Every op calls this first: folds (op, args) into the signature; true = replaying, skip the work.
    bool skip_op(uint32_t op, std::initializer_list<uint64_t> args);
    // Uploads inside a capture or a replay go through the recording's pinned inputs; true when handled.
    bool upload(void * dst, const void * src, size_t bytes);
    // Before anything that waits for the stream (download, synchronize): ends a capture / launches a replay.
    void before_host_sync();

    // True while a section is being captured (library searches that run kernels must not happen then).
    bool capturing() const { return mode_ == Mode::Capture; }
    size_t graphs() const { return graphs_.size(); }
    int64_t replays() const { return replays_; }

private:
    enum class Mode { Off, Eager, Capture, Replay, Launched };
    struct Input {
        void * pinned = nullptr;
        size_t bytes = 0;
    };
    struct Graph {
        cudaGraphExec_t exec = nullptr;
        std::vector<void *> held;  // pool blocks the graph's kernels address
        std::vector<Input> inputs;  // in upload order
        uint64_t signature = 0;
        size_t ops = 0;
    };
    using Key = std::pair<const void *, uint64_t>;

    void launch_pending();
    void destroy(Graph & g) noexcept;
    void drop_current() noexcept;
    void fold(uint64_t v) { signature_ = (signature_ ^ v) * 1099511628211ull; }

    DevicePool & pool_;
    cudaStream_t stream_;
    std::map<Key, Graph> graphs_;
    std::map<Key, int> seen_;
    std::map<Key, std::vector<size_t>> eager_uploads_;  // upload sizes of the key's eager run, in order
    Mode mode_ = Mode::Off;
    int depth_ = 0;  // nested begin() calls are part of the outer section
    Key key_ {};
    Graph * current_ = nullptr;
    uint64_t signature_ = 0;
    size_t ops_ = 0, inputs_used_ = 0;
    int64_t replays_ = 0;
};

}  // namespace sdn::cuda
