#!/usr/bin/env bash
# bench/scaling.py on a many-core host that has Python 3.12 but none of imgpro's dependencies and
# no network (a lent 16-core machine). Rehearsed on the 2-core machine in a bare Python 3.12 venv.
#
# Prepare here, once: wheels for what that host lacks, in .whl/ (git-ignored, ~28 MB):
#   python3.12 -m venv /tmp/v312 && /tmp/v312/bin/pip install -e . psutil
#   /tmp/v312/bin/pip list --format=freeze  -> pip download --no-deps --only-binary=:all:
#     --python-version 3.12 --platform manylinux_2_28_x86_64 … -d .whl  for each package the host
#     does not have (pyvips itself is pure Python: `pip wheel --no-deps pyvips -w .whl`);
#   botocore/aiobotocore can stay behind (S3 loads only when used), fastapi needs opentelemetry-api.
# Then there:  bash bench/scaling-many-cores.sh   (results and logs in $OUT, or /tmp/out)
PY=${PY:-python3}
OUTDIR=${OUT:-/tmp/out}; mkdir -p "$OUTDIR"
echo "nproc=$(nproc)"
$PY -c 'import os,sys; print(sys.version); print("cpu_count", os.cpu_count(), "affinity", len(os.sched_getaffinity(0)))'
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
# Compiled once up front: otherwise every server process compiles the same modules at start-up.
$PY -m compileall -q -j 0 /tmp/site src >/dev/null 2>&1
$PY -c 'import imgpro.app, pyvips; from imgpro.settings_groups import available_cpus; print("vips", pyvips.version(0), pyvips.version(1), "available_cpus", available_cpus())' || exit 1
S=${SECONDS_PER_LEVEL:-12}
run() {
  local name=$1; shift
  echo "=== $name: $*"
  timeout "${LIMIT:-170}" $PY bench/scaling.py "$@" --seconds "$S" --count 5000 \
    --out "$OUTDIR/scaling-$name.json" > "$OUTDIR/log-$name.txt" 2>&1
  echo "rc=$?"
  grep -v '^ \|^{\|^}\|^\]' "$OUTDIR/log-$name.txt" | tail -25
}
run default --image 12mp --op fit500-jpg
run workers4 --image 12mp --op fit500-jpg --workers 4
run default-2mp --image 2mp --op m-webp
ls -la "$OUTDIR"
