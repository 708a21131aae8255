#!/usr/bin/env bash
# Train the Rasa model only when config, domain or training data changed since the last
# training. The fingerprint of those inputs is kept next to the model.
set -euo pipefail
cd "$(dirname "$0")/.."
model=models/kefu.tar.gz
stamp=models/kefu.fingerprint
fingerprint=$( { cat bot/config.yml bot/entity_values.yml bot/entity_values.py domain.yml; find data bot/jieba_dict bot/components -type f -name '*.yml' -o -type f -name '*.txt' -o -type f -name '*.py' | LC_ALL=C sort | xargs cat; } | sha256sum | cut -d' ' -f1)
if [ -f "$model" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
  echo "model up to date: $model"
  exit 0
fi
mkdir -p models var/log
echo "training Rasa model (inputs changed) ..."
start=$(date +%s)
RASA_TELEMETRY_ENABLED=false .venv-bot/bin/rasa train --config bot/config.yml --domain domain.yml --data data \
  --out models --fixed-model-name kefu > var/log/train.log 2>&1 || { tail -40 var/log/train.log; echo "training failed, see var/log/train.log" >&2; exit 1; }
echo "$fingerprint" > "$stamp"
echo "trained $model in $(( $(date +%s) - start )) s"
