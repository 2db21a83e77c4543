#!/usr/bin/env bash
# Downloads published Kronos weights from Hugging Face at pinned revisions, for machines with
# internet access (kronosd's CI and build machines have none; nothing here runs in tests).
#
#   scripts/fetch-weights.sh mini  DEST   # Kronos-mini  + Kronos-Tokenizer-2k   (max_context 2048)
#   scripts/fetch-weights.sh small DEST   # Kronos-small + Kronos-Tokenizer-base (max_context 512)
#   scripts/fetch-weights.sh base  DEST   # Kronos-base  + Kronos-Tokenizer-base (max_context 512)
#
# Layout written: DEST/<model>/{config.json,model.safetensors}, DEST/<tokenizer>/{...} and the link
# DEST/<model>/tokenizer -> ../<tokenizer>, so KRONOS_MODEL_PATH=DEST/<model> is enough and answers
# name the tokenizer by its folder (model_version/tokenizer_version). Each model.safetensors is checked against the
# SHA-256 that the hub publishes for that file at the pinned revision (its LFS object id), and
# the sums are recorded in SHA256SUMS; a second run verifies the files against that record.
set -euo pipefail

HUB=${KRONOS_HF_ENDPOINT:-https://huggingface.co}
declare -A REPO=(
    [Kronos-mini]=NeoQuasar/Kronos-mini [Kronos-small]=NeoQuasar/Kronos-small
    [Kronos-base]=NeoQuasar/Kronos-base
    [Kronos-Tokenizer-2k]=NeoQuasar/Kronos-Tokenizer-2k
    [Kronos-Tokenizer-base]=NeoQuasar/Kronos-Tokenizer-base)
# Revisions pinned by the upstream tests (small, tokenizer-base) and a published fetch script (mini,
# tokenizer-2k). Kronos-base has no pin known to us: set KRONOS_BASE_REVISION to pin it.
declare -A REV=(
    [Kronos-mini]=f4e68697d9d5aed55cef5c96aabc3376bcad9f81
    [Kronos-small]=901c26c1332695a2a8f243eb2f37243a37bea320
    [Kronos-base]=${KRONOS_BASE_REVISION:-main}
    [Kronos-Tokenizer-2k]=26966d0035065a0cae0ebad7af8ece35bc1fb51c
    [Kronos-Tokenizer-base]=0e0117387f39004a9016484a186a908917e22426)

usage() { sed -n '2,12p' "$0"; exit 2; }
[ $# -eq 2 ] || usage
case "$1" in
mini) model=Kronos-mini tok=Kronos-Tokenizer-2k ;;
small) model=Kronos-small tok=Kronos-Tokenizer-base ;;
base) model=Kronos-base tok=Kronos-Tokenizer-base ;;
*) usage ;;
esac
dest=$2/$model
tokdest=$2/$tok

fetch() { # name folder
    local name=$1 dir=$2 url
    mkdir -p "$dir"
    for f in config.json model.safetensors; do
        url="$HUB/${REPO[$name]}/resolve/${REV[$name]}/$f"
        echo "fetching $name@${REV[$name]:0:12} $f"
        curl -fL --retry 3 -o "$dir/$f.part" "$url"
        mv "$dir/$f.part" "$dir/$f"
    done
    # The hub names an LFS file by its SHA-256 (X-Linked-Etag on the resolve URL).
    local want have
    want=$(curl -fsI "$HUB/${REPO[$name]}/resolve/${REV[$name]}/model.safetensors" |
        tr -d '\r"' | awk -F': ' 'tolower($1)=="x-linked-etag"{print $2}')
    have=$(sha256sum "$dir/model.safetensors" | cut -d' ' -f1)
    if [ -n "$want" ] && [ "$want" != "$have" ]; then
        echo "checksum mismatch for $name: hub says $want, file is $have" >&2
        exit 1
    fi
    (cd "$dir" && sha256sum config.json model.safetensors >SHA256SUMS)
}

if [ -f "$dest/SHA256SUMS" ] && [ -f "$tokdest/SHA256SUMS" ] && [ -L "$dest/tokenizer" ]; then
    (cd "$dest" && sha256sum -c --quiet SHA256SUMS) &&
        (cd "$tokdest" && sha256sum -c --quiet SHA256SUMS) &&
        { echo "$dest is complete and verified"; exit 0; }
fi
fetch "$model" "$dest"
fetch "$tok" "$tokdest"
ln -sfn "../$tok" "$dest/tokenizer"
ctx=512
[ "$model" = Kronos-mini ] && ctx=2048
echo "done: KRONOS_MODEL_PATH=$dest KRONOS_MAX_CONTEXT=$ctx make run"
