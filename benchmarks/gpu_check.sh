#!/usr/bin/env bash
# Issue 22's checks on a GPU machine (CUDA, CuPy and torch installed), in one run: the CUDA
# cases of tests/test_cuda.py, then benchmarks/gpu_speed.py. Logs go to $OUT (or ./gpu-out).
#   bash benchmarks/gpu_check.sh [--torch-compile]
set -o pipefail
out=${OUT:-gpu-out}
mkdir -p "$out"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python3 -c "import cupy, numpy, torch; print('cupy', cupy.__version__, 'numpy', numpy.__version__, \
'torch', torch.__version__)" | tee -a "$out/gpu.txt"
timeout "${TEST_SECONDS:-300}" python3 -m pytest tests/test_cuda.py -p no:cacheprovider -q \
    --tb=short -rfE -W "ignore::UserWarning:cupy.*" -W "ignore::FutureWarning:cupy.*" \
    > "$out/tests.log" 2>&1
echo "tests exit code $?"
grep -E "^(FAILED|ERROR)|passed|failed" "$out/tests.log" | tail -80
timeout "${BENCH_SECONDS:-240}" python3 benchmarks/gpu_speed.py --rounds 3 --seconds 0.3 "$@" \
    2>&1 | tee "$out/bench.md"
