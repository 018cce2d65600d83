#!/usr/bin/env bash
# The project's main job on built-in data, end to end on a CPU in about five minutes:
#   1. simulate paired confocal / STED images of axonal F-actin rings (insilico-core simulate axonal-rings);
#   2. train TA-GAN (TAGAN_AxonalRings: 9-block ResNet generator, 6-block ResNet task network, PatchGAN;
#      reduced width and crop so that it trains in minutes on two cores);
#   3. run tagan-test on the simulated test images (full 224x224 images; train-mode BatchNorm as every test
#      command of the original README, made repeatable by --seed);
#   4. write a PNG panel (confocal | real STED | generated STED | segmentations) and SSIM / PSNR of the
#      generated vs the real STED images.
# Usage: bash tools/demo.sh [OUTPUT_DIR]   (TAGAN_DEMO_EPOCHS=N changes the training length, default 30)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"
cd "$REPO_ROOT"
OUT="${1:-$REPO_ROOT/demo-output}"
EPOCHS="${TAGAN_DEMO_EPOCHS:-30}"
DATA="$OUT/AxonalRingsDataset"
mkdir -p "$OUT"
start=$(date +%s)

rm -rf "$DATA" "$OUT/checkpoints/demo" "$OUT/results/demo"
insilico-core simulate axonal-rings --out "$DATA" --n 40 --seed 0

COMMON=(--dataroot="$DATA" --model=TAGAN_AxonalRings --name=demo --checkpoints_dir="$OUT/checkpoints"
        --ngf=16 --ndf=16 --gpu_ids=-1 --num_threads=0 --seed=0)
tagan-train "${COMMON[@]}" --crop_size=64 --batch_size=4 --niter="$EPOCHS" --niter_decay=0 \
    --save_epoch_freq=10 --print_freq=64 --no_html
tagan-test "${COMMON[@]}" --epoch="$EPOCHS" --preprocess=none --results_dir="$OUT/results"

python -m tagan.demo_panel "$OUT/results/demo/test_$EPOCHS" "$OUT"
echo "demo finished in $(( $(date +%s) - start )) s"
echo "demo outputs are in $OUT:"
echo "  panel.png, scores.json                 figure and SSIM / PSNR of generated vs real STED"
echo "  results/demo/test_$EPOCHS/images/      tagan-test TIFFs (uint16, rint((t+1)/2*255)) and index.html"
echo "  checkpoints/demo/                      ${EPOCHS}_net_{G,S,D}.pth in the original layout, loss_log.txt"
echo "  AxonalRingsDataset/                    the simulated train / valid / test TIFFs"
