#!/usr/bin/env bash
# Checks the GPU path on a machine with an NVIDIA GPU, in a few minutes: installs asal into a
# fresh venv, runs the tiny synthetic workflow with every GPU stage on CUDA (training with mixed
# precision, the pretrained EfficientNet-Lite0 model), and prints the device each stage used and
# the wall time. Usage: bash benchmarks/gpu_smoke.sh [WORKDIR]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
if [ ! -x "$work/venv/bin/python" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q -e "$repo[test]"
fi
"$work/venv/bin/python" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device visible"; print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))'
cp "$repo/config.yaml" "$work/config.yaml"  # the defaults; gpu.yaml overrides them
cat > "$work/gpu.yaml" <<YAML
experiment: gpu_smoke
trials: 1
rounds: 2
budget: 12
methods: [SP, AMSP+S]
dataset: {name: synthetic, synthetic: {n_pool: 6, n_val: 2, height: 96, width: 128}}
superpixels: {size: 64}
train: {model: efficientnet_lite0_seg, pretrained: true, iterations: 100, batch_size: 4, amp: true}
compute: {device: cuda}
YAML
start=$(date +%s)
PATH="$work/venv/bin:$PATH" "$work/venv/bin/snakemake" -s "$repo/Snakefile" --directory "$work" \
  --configfile "$work/gpu.yaml" --cores 4 --quiet
echo "wall time: $(( $(date +%s) - start )) s"
grep -h "train: on" "$work"/results/logs/gpu_smoke/train/*/trial0/*.log | sort | uniq -c
cat "$work/results/gpu_smoke/report/metrics.csv" | cut -d, -f1-5
