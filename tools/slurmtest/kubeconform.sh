#!/bin/bash
# Validates deploy/k8s against the Kubernetes schemas with kubeconform, run
# as a Go tool (go run …@KUBECONFORM), strict (no field the schema does not
# know), with no network but the Go module proxy:
#
#   tools/slurmtest/kubeconform.sh DIR
#
# The schemas: kubeconform's own come from a web host this machine cannot
# reach, so they are made here from the Kubernetes OpenAPI definitions that
# the Go module sigs.k8s.io/kustomize/kyaml ships as a data file
# (openapi/kubernetesapi/data/kubernetes-openapi-union-v1.21.2.bundle-v1.json,
# Kubernetes v1.21.2), in kubeconform's schema layout, the way its
# openapi2jsonschema does: one file per kind pointing into the definitions,
# additionalProperties false on every object with properties (strict), and
# int-or-string as string or integer. A manifest broken on purpose (a
# misspelt field, a string count) must be rejected, or the check proves
# nothing. Needs jq and unzip (installed by apt-get where absent).
set -euo pipefail

DIR=$(mkdir -p "${1:?usage: kubeconform.sh DIR}" && cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GO=${GO:-go}
KUBECONFORM=${KUBECONFORM:-v0.7.0}
KYAML=${KYAML:-v0.21.3}
log() { printf '[kubeconform %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }

for tool in jq unzip; do
	command -v $tool >/dev/null && continue
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $tool >"$DIR/apt-$tool.log" 2>&1 || fail "apt-get install $tool"
done

# The module's zip, checked against its sum by the go command (which then
# says that building the module needs Go 1.27: only its data is read here).
zip=$(cd "$DIR" && "$GO" mod download -json "sigs.k8s.io/kustomize/kyaml@$KYAML" | jq -r .Zip) || true
bundle="$DIR/kubernetes-openapi-v1.21.2.json"
unzip -p "$zip" "sigs.k8s.io/kustomize/kyaml@$KYAML/openapi/kubernetesapi/data/kubernetes-openapi-union-v1.21.2.bundle-v1.json" >"$bundle" ||
	fail "no OpenAPI definitions in sigs.k8s.io/kustomize/kyaml@$KYAML ($zip)"
schemas="$DIR/schemas/v1.21.2-standalone-strict"
mkdir -p "$schemas"
# kind, group-version (as in the file name), definition
for k in "job batch-v1 io.k8s.api.batch.v1.Job" "persistentvolumeclaim v1 io.k8s.api.core.v1.PersistentVolumeClaim"; do
	read -r kind gv def <<<"$k"
	jq --arg name "$def" '{
		"$schema": "http://json-schema.org/schema#",
		"$ref": ("#/definitions/" + $name),
		"definitions": (.definitions | walk(
			if type == "object" and .format? == "int-or-string" then
				del(.type, .format) + {"oneOf": [{"type": "string"}, {"type": "integer"}]}
			elif type == "object" and (.properties? | type) == "object" and (has("additionalProperties") | not) then
				. + {"additionalProperties": false}
			else . end))
	}' "$bundle" >"$schemas/$kind-$gv.json"
done
log "schemas of Kubernetes v1.21.2 from sigs.k8s.io/kustomize/kyaml@$KYAML: $(ls "$schemas" | tr '\n' ' ')"

kubeconform() {
	(cd "$DIR" && "$GO" run "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM" -strict -summary \
		-kubernetes-version 1.21.2 \
		-schema-location "$DIR/schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$@")
}

kubeconform "$ROOT"/deploy/k8s/*.yaml | tee "$DIR/kubeconform.log" || fail "deploy/k8s does not validate: $DIR/kubeconform.log"
grep -q "Invalid: 0, Errors: 0, Skipped: 0" "$DIR/kubeconform.log" || fail "not every resource was validated: $(tail -1 "$DIR/kubeconform.log")"

# Broken on purpose: each must be rejected.
sed 's/completionMode: Indexed/completionsMode: Indexed/' "$ROOT/deploy/k8s/sweep-job.yaml" >"$DIR/broken-field.yaml"
sed 's/completions: 10 /completions: "ten" /' "$ROOT/deploy/k8s/sweep-job.yaml" >"$DIR/broken-type.yaml"
for b in broken-field broken-type; do
	cmp -s "$DIR/$b.yaml" "$ROOT/deploy/k8s/sweep-job.yaml" && fail "$b: the edit did not apply to sweep-job.yaml"
	if kubeconform "$DIR/$b.yaml" >"$DIR/$b.log" 2>&1; then
		fail "$b.yaml was accepted: the validation proves nothing"
	fi
	log "$b.yaml rejected: $(grep -m1 -o "at '.*" "$DIR/$b.log")"
done
log "PASS: $(tail -1 "$DIR/kubeconform.log")"
