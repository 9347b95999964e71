#!/usr/bin/env bash
# One short, prepared check of the GPU paths (issue 9), for a session that is lent a GPU:
#   1. the paper table at width 128, 10 images per class, seed 0: random, DM (the iterations that
#      fit) and the generative routes of issue 20 (GAN, DDPM, latent DM, diffusion prototypes, DM
#      from generated, herding / k-center on embeddings), generators trained for the steps that fit;
#   2. the conditional GAN and DDPM rows on MNIST (generate, and generate-then-select);
#   3. a headline subset on MNIST with device=cuda (margin and k-center at 10%).
# Writes JSON (and markdown) under benchmarks/results/gpu/ (or $OUT). Target: < 8 min on one
# H100-class GPU. `benchmarks/gpu.sh --smoke` runs the same three steps at toy sizes on the CPU
# (a few minutes on 2 cores): it checks the wiring, not the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"
start=$(date +%s)
if [ "${1:-}" = "--smoke" ]; then
  OUT=${OUT%/}/smoke; mkdir -p "$OUT"
  distill-lab bench paper --smoke --methods random dm gan diffusion gan_latent_dm \
    diffusion_prototypes dm_from_generated herding_embed kcenter_embed --seeds 0 --device cpu \
    --out "$OUT"
  distill-lab bench generative --dataset mnist --smoke --n-train 2000 --device cpu --seeds 0 \
    --ipcs 2 --methods random gan diffusion --out "$OUT"
  distill-lab bench headline --datasets mnist --n-train 2000 --methods margin --budgets 0.1 \
    --seeds 0 --device cpu --out "$OUT"
else
  distill-lab bench paper --config gpu --device cuda --methods random dm gan diffusion \
    gan_latent_dm diffusion_prototypes dm_from_generated herding_embed kcenter_embed --ipcs 10 \
    --seeds 0 --dm-iterations "${DM_ITERATIONS:-2000}" --gan-steps "${GAN_STEPS:-3000}" \
    --ddpm-steps "${DDPM_STEPS:-4000}" --checkpoints data/checkpoints/gpu --out "$OUT"
  distill-lab bench generative --dataset mnist --device cuda --seeds 0 1 2 --ipcs 10 \
    --methods random gan gan+select diffusion diffusion+select --out "$OUT"
  distill-lab bench headline --datasets mnist --methods margin kcenter --budgets 0.1 \
    --device cuda --out "$OUT"
fi
echo "{\"gpu_sh_seconds\": $(( $(date +%s) - start )), \"smoke\": \"${1:-}\"}" > "$OUT/gpu_sh.json"
echo "gpu.sh done in $(( $(date +%s) - start )) s; results in $OUT"
