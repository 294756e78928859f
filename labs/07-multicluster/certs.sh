#!/usr/bin/env bash
# One root of trust for two clusters: a root CA, and an intermediate CA per cluster signed by it.
#   labs/07-multicluster/certs.sh OUT_DIR east west
# writes OUT_DIR/root-cert.pem (+ root-key.pem) and OUT_DIR/<cluster>/{ca-cert,ca-key,cert-chain,root-cert}.pem,
# the four files Istio reads from the Secret `cacerts` in istio-system.
#
# Why: each istiod signs the certificates of its cluster's workloads. Left alone, each makes its
# own self-signed root, and a workload in east would not trust one in west. With intermediates
# under one root, every certificate in both clusters chains up to the same root: mTLS works
# across clusters. (Istio's release has the same recipe as make targets in tools/certs/; this is
# it in plain openssl, so you can read every step. Keep root-key.pem offline in real life.)
set -euo pipefail

DAYS_ROOT=3650
DAYS_INTERMEDIATE=730

log() { echo "$*" >&2; }

root_ca() {
  local out="$1"
  if [[ -f "$out/root-cert.pem" ]]; then
    log "certs: the root CA in $out exists: keeping it (both clusters must share it)."
    return
  fi
  openssl req -x509 -new -newkey rsa:4096 -nodes -sha256 -days "$DAYS_ROOT" \
    -keyout "$out/root-key.pem" -out "$out/root-cert.pem" \
    -subj "/O=Workshop/CN=Workshop Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  log "certs: root CA written to $out/root-cert.pem"
}

intermediate_ca() {
  local out="$1" cluster="$2" dir="$1/$2"
  if [[ -f "$dir/ca-cert.pem" ]]; then
    log "certs: the intermediate CA of $cluster exists: keeping it."
    return
  fi
  mkdir -p "$dir"
  openssl req -new -newkey rsa:4096 -nodes -sha256 -keyout "$dir/ca-key.pem" -out "$dir/ca.csr" \
    -subj "/O=Workshop/CN=Intermediate CA $cluster/L=$cluster" 2>/dev/null
  # An intermediate may sign workload certificates, not other CAs (pathlen 0).
  openssl x509 -req -sha256 -days "$DAYS_INTERMEDIATE" -in "$dir/ca.csr" \
    -CA "$out/root-cert.pem" -CAkey "$out/root-key.pem" -CAcreateserial -out "$dir/ca-cert.pem" \
    -extfile <(printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
      "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign" \
      "subjectAltName=DNS:istiod.istio-system.svc") 2>/dev/null
  cat "$dir/ca-cert.pem" "$out/root-cert.pem" > "$dir/cert-chain.pem"
  cp "$out/root-cert.pem" "$dir/root-cert.pem"
  rm -f "$dir/ca.csr"
  log "certs: intermediate CA of $cluster written to $dir/"
}

main() {
  local out="${1:?usage: certs.sh OUT_DIR CLUSTER...}"
  shift
  (($#)) || { log "usage: certs.sh OUT_DIR CLUSTER..."; exit 2; }
  command -v openssl >/dev/null || { log "certs: openssl is not installed (apt install openssl / brew install openssl)."; exit 2; }
  mkdir -p "$out"
  chmod 700 "$out"
  root_ca "$out"
  local cluster
  for cluster in "$@"; do
    intermediate_ca "$out" "$cluster"
  done
}

main "$@"
