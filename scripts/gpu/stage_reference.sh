#!/usr/bin/env bash
# Copies the part of the reference data set that the native tests read (README.md, goldens/components and
# the tiny models' network folders, about 37 MB) into build-ref/reference: a git-ignored folder (build-*/)
# that a device run can carry, since ../shared beside the checkout does not travel. scripts/gpu/check.sh
# points SDN_REFERENCE_DIR at it when it is there, so the tiny-model parity tests run on CUDA instead of
# skipping. Usage (on the development machine, before the device call that names "build-ref" in carry):
#   bash scripts/gpu/stage_reference.sh [SOURCE_DIR]        # SOURCE_DIR defaults to ../shared/reference
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-../shared/reference}
dst=build-ref/reference
[ -f "$src/README.md" ] || { echo "no reference data set at $src" >&2; exit 1; }
rm -rf build-ref
mkdir -p "$dst/goldens" "$dst/models"
cp "$src/README.md" "$dst/"
cp -r "$src/goldens/components" "$dst/goldens/"
for model in "$src"/models/*/; do
    name=$(basename "$model")
    mkdir -p "$dst/models/$name"
    cp "$model"*.json "$dst/models/$name/" 2>/dev/null || true
    for part in "$model"*/; do
        case $(basename "$part") in
            tokenizer | safety_checker | feature_extractor | scheduler) continue ;;  # not read by native tests
        esac
        cp -r "$part" "$dst/models/$name/"
    done
done
cp "$src"/models/*.json "$dst/models/" 2>/dev/null || true
du -sh build-ref
