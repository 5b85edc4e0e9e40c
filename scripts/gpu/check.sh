#!/usr/bin/env bash
# One-shot GPU session script for a machine with an NVIDIA GPU, nvcc, cmake and Python with PyTorch (no
# Node, no network needed). Most important results first; every step has a time limit and the whole run
# stays inside SDN_GPU_BUDGET seconds (default 540: one device call may last 600).
#
#   bash scripts/gpu/check.sh                # all steps: build tests ops torch compare randn networks
#   bash scripts/gpu/check.sh build ops      # only the named steps (in the order above)
#   bash scripts/gpu/bench.sh                # build + network benches with the whole budget
#
# Steps and what each leaves in $OUT (default ./gpu-out; at most 8 files come back from a device run):
#   build     CMake (Ninja when present) with CUDA for the local GPU      -> build.log
#   tests     sdn_tests, every case (CUDA ops vs CPU, tiny models on CUDA) -> tests.log
#   ops       sdn_bench --cuda-ops --all-paths (ceilings + SD1.5 op shapes) -> bench_ops.jsonl
#   torch     scripts/gpu/torch_anchors.py (same shapes in PyTorch)        -> torch_ops.jsonl
#   compare   scripts/gpu/compare_ops.py                                  -> compare.md
#   randn     scripts/gpu/torch_cuda_randn.py (torch CUDA randn fixture)   -> randn.json
#   networks  sdn_bench --synthetic sd15 / sd21-v --backend cuda           -> bench_networks.jsonl
#   always    step table, GPU and library versions, stderr tails          -> summary.txt
#
# Environment: OUT, SDN_GPU_BUDGET (seconds), SDN_CUDA_ARCHS (default: the GPU's compute capability, e.g.
# 90), SDN_GPU_BUILD_DIR (default build-gpu), PYTHON (default python3), SDN_REFERENCE_DIR (default
# build-ref/reference when scripts/gpu/stage_reference.sh put it there and the call carried it).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd)
out="${OUT:-./gpu-out}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d /tmp/sdn-gpu.XXXXXX)
budget=${SDN_GPU_BUDGET:-540}
t_start=$(date +%s)
build_dir=${SDN_GPU_BUILD_DIR:-build-gpu}
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1

all_steps=(build tests ops torch compare randn networks)
if [ $# -gt 0 ]; then want=" $* "; else want=" ${all_steps[*]} "; fi
wanted() { [[ "$want" == *" $1 "* ]]; }

step_table="$scratch/steps.txt"
: > "$step_table"
elapsed() { echo $(($(date +%s) - t_start)); }

# limited LIMIT CMD...: runs CMD under `timeout`, the limit cut to what is left of the budget (minus a
# reserve for the summary). Returns CMD's status; 124/137 = stopped at the limit; 125 = not started.
limited() {
    local limit=$1
    shift
    local left=$((budget - $(elapsed) - 15))
    if [ "$left" -lt 10 ]; then
        echo "not started: time budget spent" >&2
        return 125
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    timeout --kill-after=10 "$limit" "$@"
}

# record NAME STATUS SECONDS NOTE
record() { printf '%-10s rc=%-4s %4ss  %s\n' "$1" "$2" "$3" "$4" >> "$step_table"; }

# run_step NAME LIMIT FILE CMD...: stdout appended to FILE, stderr to a scratch log (its tail goes into
# summary.txt); with MERGE=1 in the environment stderr goes to FILE as well.
run_step() {
    local name=$1 limit=$2 file=$3
    shift 3
    local t0 rc note="" err="$scratch/$name.err"
    [ "${MERGE:-0}" = 1 ] && err=$file
    t0=$(date +%s)
    echo "== $name (limit ${limit}s, $(elapsed)s elapsed): $*" >> "$err"
    limited "$limit" "$@" >> "$file" 2>> "$err"
    rc=$?
    case $rc in
        0) note="ok" ;;
        124 | 137) note="STOPPED at the time limit" ;;
        125) note="not started (time budget spent)" ;;
        *) note="FAILED" ;;
    esac
    record "$name" "$rc" $(($(date +%s) - t0)) "$note"
    return $rc
}

# ---------------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------------
arch=${SDN_CUDA_ARCHS:-}
if [ -z "$arch" ]; then
    # Plain sm_XY: the kernels use no sm_90a-only instructions (wgmma, setmaxnreg). Set SDN_CUDA_ARCHS=90a
    # once they do.
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
    arch=${arch:-90}
fi
# cuBLASLt / cuDNN from the Python environment's nvidia-* wheels (sd-native also searches site-packages
# itself; this removes any doubt). nvidia.cublas may be a namespace package: use __path__.
cuda_libs=$("$py" - <<'EOF' 2>/dev/null
import importlib, os
dirs = []
for name in ("nvidia.cublas", "nvidia.cudnn"):
    try:
        mod = importlib.import_module(name)
    except Exception:
        continue
    for base in list(getattr(mod, "__path__", [])) or [os.path.dirname(getattr(mod, "__file__", "") or ".")]:
        lib = os.path.join(base, "lib")
        if os.path.isdir(lib) and lib not in dirs:
            dirs.append(lib)
print(":".join(dirs))
EOF
)
if [ -n "$cuda_libs" ]; then export SDN_CUDA_LIBS="$cuda_libs${SDN_CUDA_LIBS:+:$SDN_CUDA_LIBS}"; fi
# Their headers (the wheels ship include/ beside lib/): the conformance target checks sd-native's declared
# cuBLASLt / cuDNN subsets against them at compile time.
lib_headers=""
for d in ${cuda_libs//:/ }; do
    if [ -d "${d%/lib}/include" ]; then lib_headers="${lib_headers:+$lib_headers;}${d%/lib}/include"; fi
done
if [ -z "${SDN_REFERENCE_DIR:-}" ] && [ -f build-ref/reference/README.md ]; then
    export SDN_REFERENCE_DIR="$repo/build-ref/reference"
fi
bin="$build_dir/bin"

# Start the files of the steps that run afresh (a local $OUT may hold an earlier run's).
declare -A step_file=([build]=build.log [tests]=tests.log [ops]=bench_ops.jsonl [torch]=torch_ops.jsonl
    [compare]=compare.md [randn]=randn.json [networks]=bench_networks.jsonl)
for s in "${all_steps[@]}"; do
    if wanted "$s"; then : > "$out/${step_file[$s]}"; fi
done

# ---------------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------------
if wanted build; then
    gen=(-G "Unix Makefiles")
    command -v ninja > /dev/null && gen=(-G Ninja)
    # A build folder made with another generator cannot be reconfigured: start it afresh. (An existing one
    # with the same generator is reused: the build is incremental.)
    if [ -f "$build_dir/CMakeCache.txt" ] && ! grep -qx "CMAKE_GENERATOR:INTERNAL=${gen[1]}" "$build_dir/CMakeCache.txt"; then
        rm -rf "$build_dir"
    fi
    echo "archs $arch, generator ${gen[1]}, $(nproc) jobs" >> "$out/build.log"
    MERGE=1 run_step configure 120 "$out/build.log" cmake -S . -B "$build_dir" "${gen[@]}" -DSDN_CUDA=ON \
        -DSDN_CUDA_ARCHS="$arch" -DCMAKE_BUILD_TYPE=Release -DSDN_BUILD_TESTS=ON -DSDN_BUILD_BENCH=ON -DSDN_BUILD_SHARED=OFF \
        -DSDN_CUDA_LIB_HEADERS="$lib_headers" &&
        MERGE=1 run_step build 420 "$out/build.log" cmake --build "$build_dir" -j"$(nproc)" --target sdn_tests sdn_bench
    # Declared cuBLASLt / cuDNN subsets vs the installed headers (compiles only if every value matches).
    if [ -n "$lib_headers" ]; then
        MERGE=1 run_step conformance 120 "$out/build.log" cmake --build "$build_dir" --target sdn_dynload_conformance &&
            "$bin/sdn_dynload_conformance" >> "$out/build.log" 2>&1
    else
        record conformance - 0 "skipped: no nvidia/cublas and nvidia/cudnn include directories found"
    fi
    if [ ! -x "$bin/sdn_bench" ] || [ ! -x "$bin/sdn_tests" ]; then
        echo "build failed; last lines of build.log:"
        tail -40 "$out/build.log"
    fi
fi
for b in sdn_tests sdn_bench; do
    [ -x "$bin/$b" ] || record "$b" - 0 "MISSING: steps that need $bin/$b are skipped"
done

if wanted tests && [ -x "$bin/sdn_tests" ]; then
    echo "SDN_REFERENCE_DIR=${SDN_REFERENCE_DIR:-(unset: tiny-model parity tests skip unless ../shared/reference exists)}" >> "$out/tests.log"
    MERGE=1 run_step tests 240 "$out/tests.log" "$bin/sdn_tests"
fi

if wanted ops && [ -x "$bin/sdn_bench" ]; then
    # The shape list must be the same on both sides (no GPU needed for this check).
    "$bin/sdn_bench" --cuda-ops --list > "$scratch/native_list.jsonl" 2>&1
    if "$py" scripts/gpu/torch_anchors.py --verify-native "$scratch/native_list.jsonl" 2> "$scratch/verify.txt"; then
        record shapes 0 0 "native and python shape lists agree"
    else
        record shapes 1 0 "MISMATCH between native and python shape lists (see summary)"
    fi
    run_step ops 150 "$out/bench_ops.jsonl" "$bin/sdn_bench" --cuda-ops --all-paths --seconds 0.25
fi

if wanted torch; then
    # The script keeps to its own --budget (networks last); leave about a minute for the steps after it.
    torch_budget=$((budget - $(elapsed) - 75))
    [ "$torch_budget" -gt 150 ] && torch_budget=150
    [ "$torch_budget" -lt 20 ] && torch_budget=20
    run_step torch $((torch_budget + 20)) "$out/torch_ops.jsonl" "$py" scripts/gpu/torch_anchors.py --seconds 0.25 \
        --budget "$torch_budget"
fi

if wanted compare; then
    run_step compare 30 "$out/compare.md" "$py" scripts/gpu/compare_ops.py "$out/bench_ops.jsonl" "$out/torch_ops.jsonl"
fi

if wanted randn; then
    run_step randn 60 "$out/randn.json" "$py" scripts/gpu/torch_cuda_randn.py
fi

if wanted networks && [ -x "$bin/sdn_bench" ]; then
    for model in sd15 sd21-v; do
        run_step "net-$model" 240 "$out/bench_networks.jsonl" "$bin/sdn_bench" --synthetic "$model" --backend cuda --repeats 3
    done
    # The same SD1.5 stages with the UNet forward replayed as a CUDA graph (opt-in until verified).
    echo '{"note":"next: sd15 with SDN_CUDA_GRAPHS=1"}' >> "$out/bench_networks.jsonl"
    SDN_CUDA_GRAPHS=1 run_step net-sd15-graphs 240 "$out/bench_networks.jsonl" "$bin/sdn_bench" --synthetic sd15 --backend cuda --repeats 3
fi

# ---------------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------------
summary="$out/summary.txt"
{
    echo "# sd-native GPU check, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(elapsed)s of ${budget}s"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo 'no .git')$(git status --porcelain 2>/dev/null | grep -q . && echo ' + local changes')"
    echo "archs: $arch; build dir: $build_dir; SDN_CUDA_LIBS=${SDN_CUDA_LIBS:-}; SDN_REFERENCE_DIR=${SDN_REFERENCE_DIR:-}"
    echo
    echo "## steps"
    cat "$step_table"
    if [ -s "$scratch/verify.txt" ]; then
        echo
        echo "## shape lists (native vs python)"
        cat "$scratch/verify.txt"
    fi
    if [ -f "$out/tests.log" ]; then
        echo
        echo "## tests"
        grep -E "^\[ FAIL \]" "$out/tests.log" | head -40
        grep -E "^[0-9]+ passed, [0-9]+ failed" "$out/tests.log" | tail -1
    fi
    if [ -f "$out/bench_ops.jsonl" ]; then
        echo
        echo "## sd-native ceilings and paths"
        grep -E '"ceiling"|"name"|"skipped"' "$out/bench_ops.jsonl" | head -10
        echo "op errors: $(grep -c '"error"' "$out/bench_ops.jsonl")"
    fi
    echo
    echo "## versions"
    nvcc --version 2>/dev/null | tail -2
    cmake --version 2>/dev/null | head -1
    "$py" - <<'EOF' 2>&1
import importlib, importlib.metadata as md, sys
print("python", sys.version.split()[0])
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
          "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
except Exception as e:
    print("torch: not usable:", e)
for d in sorted(x.metadata["Name"] for x in md.distributions() if x.metadata["Name"]):
    if d.lower().startswith(("nvidia-", "diffusers", "transformers", "triton")):
        print(d, md.version(d))
EOF
    echo
    echo "## nvidia-smi -q (head)"
    nvidia-smi -q 2>&1 | head -60
    for f in "$scratch"/*.err; do
        [ "$(wc -l < "$f")" -gt 1 ] || continue  # the step's header line alone: nothing on stderr
        echo
        echo "## stderr tail: $(basename "$f" .err)"
        tail -20 "$f"
    done
} > "$summary" 2>&1

# The device run returns the last 12,000 characters of stdout: the comparison table, then the steps.
[ -f "$out/compare.md" ] && cat "$out/compare.md"
echo
echo "## steps ($(elapsed)s); files in $out: $(cd "$out" && echo *)"
cat "$step_table"
grep -E "^[0-9]+ passed, [0-9]+ failed" "$out/tests.log" 2>/dev/null | tail -1
rm -rf "$scratch"
exit 0
