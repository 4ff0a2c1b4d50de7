#!/usr/bin/env bash
# The container image has every shared library tokend and tokenctl load, checked without a
# container engine: each library `ldd` lists for the built binaries must come from a Debian
# package that deploy/Dockerfile's runtime stage installs (or that one of those depends on, or one
# of the base packages of debian:12-slim listed below). A library the binaries link directly must
# come from a package the runtime stage names itself (or a base package), not from a dependency
# of a dependency. Also checks the Dockerfile's stages, user and labels, and .dockerignore.
#
# Usage: image_libraries_test.sh REPOSITORY_ROOT PATH/TO/tokend PATH/TO/tokenctl
# Exit: 0 passed, 1 failed, 2 usage, 77 skipped (not a Debian system: no dpkg).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/deploy/lib.sh
source "$HERE/lib.sh"

if [[ $# -ne 3 ]]; then
  echo "usage: $0 REPOSITORY_ROOT PATH/TO/tokend PATH/TO/tokenctl" >&2
  exit 2
fi
ROOT=$1
BINARIES=("$2" "$3")
DOCKERFILE=$ROOT/deploy/Dockerfile
for bin in "${BINARIES[@]}"; do
  [[ -x $bin ]] || { echo "$bin is not an executable" >&2; exit 2; }
done
for tool in dpkg dpkg-query ldd readelf; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (the check maps libraries to Debian packages)"
done

# Packages of debian:12-slim itself that provide libraries the binaries load: the C library,
# libgcc and the C++ standard library (apt itself needs the last two).
BASE_PACKAGES=(libc6 libgcc-s1 libstdc++6)
# Sanitizer runtimes: only in the sanitizer build of the tests, never in the image's Release build.
SANITIZER_LIBS='^lib(asan|ubsan|tsan|lsan|hwasan)\.so'

# ---------------------------------------------------------------- the Dockerfile
# runtime_stage: the runtime stage's lines, continuation lines joined.
runtime_stage() {
  awk '
    /^[[:space:]]*FROM[[:space:]]/ { in_stage = ($0 ~ /[[:space:]][Aa][Ss][[:space:]]+runtime[[:space:]]*$/) }
    in_stage { print }
  ' "$DOCKERFILE" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta'
}
# The packages after `apt-get install` (options skipped) up to the end of that command.
RUNTIME_PACKAGES=()
read -r -a RUNTIME_PACKAGES <<<"$(runtime_stage | grep -E 'apt-get( -[^ ]+)* install' | sed -E 's/.*apt-get( -[^ ]+)* install//; s/(&&|;).*//' |
  tr ' ' '\n' | grep -Ev '^(-|$)' | tr '\n' ' ')"

check "deploy/Dockerfile has a stage named runtime FROM debian:12-slim" \
  grep -Eq '^FROM debian:12-slim AS runtime$' "$DOCKERFILE"
check "deploy/Dockerfile's build stage is FROM debian:12 and uses scripts/install-deps.sh" \
  bash -c "grep -Eq '^FROM debian:12 AS build$' '$DOCKERFILE' && grep -q 'install-deps.sh' '$DOCKERFILE'"
check "deploy/Dockerfile builds Release without tests and installs tokend and tokenctl in /usr/bin" \
  bash -c "grep -q -- '-DCMAKE_BUILD_TYPE=Release' '$DOCKERFILE' && grep -q -- '-DTOKEND_BUILD_TESTS=OFF' '$DOCKERFILE' &&
           grep -q '/out/usr/bin/tokend' '$DOCKERFILE' && grep -q '/out/usr/bin/tokenctl' '$DOCKERFILE' &&
           grep -Eq '^ENTRYPOINT \[\"/usr/bin/tokend\"\]' '$DOCKERFILE'"
nonroot_user() {
  local user
  user=$(runtime_stage | awk '$1 == "USER" { u = $2 } END { print u }')
  [[ -n $user && ${user%%:*} =~ ^[0-9]+$ && ${user%%:*} -ne 0 ]] ||
    { echo "the runtime stage's last USER is '${user}', not a numeric non-root uid (runAsNonRoot needs one)"; return 1; }
}
check "deploy/Dockerfile runs as a numeric non-root user" nonroot_user
oci_labels() {
  local label missing=()
  for label in title description version revision created source base.name; do
    [[ $label == source ]] && continue  # no public repository address to name yet
    grep -q "org.opencontainers.image.$label=" "$DOCKERFILE" || missing+=("$label")
  done
  [[ ${#missing[@]} -eq 0 ]] || { echo "missing OCI labels: ${missing[*]}"; return 1; }
}
check "deploy/Dockerfile sets the OCI labels" oci_labels
dockerignore() {
  local p missing=()
  for p in .git 'build*' '**/node_modules'; do
    grep -qxF -- "$p" "$ROOT/.dockerignore" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] || { echo ".dockerignore lacks: ${missing[*]}"; return 1; }
}
check ".dockerignore keeps .git, build folders and node_modules out of the context" dockerignore
check "the runtime stage installs packages (found: ${RUNTIME_PACKAGES[*]:-none})" test "${#RUNTIME_PACKAGES[@]}" -gt 0

# Every package named must exist in Debian 12: installed here, or known to apt.
known_packages() {
  local p bad=()
  for p in "${RUNTIME_PACKAGES[@]}"; do
    dpkg-query -W "$p" >/dev/null 2>&1 && continue
    apt-cache show "$p" >/dev/null 2>&1 && continue
    bad+=("$p")
  done
  [[ ${#bad[@]} -eq 0 ]] || { echo "unknown to dpkg and apt-cache here: ${bad[*]}"; return 1; }
}
check "every package of the runtime stage exists" known_packages

# ---------------------------------------------------------------- what apt would install
# DEPENDS[pkg]: the installed packages pkg depends on (Depends and Pre-Depends; of alternatives
# the ones installed here; versions and architecture qualifiers dropped).
declare -A DEPENDS=()
while IFS=$'\t' read -r pkg deps; do
  DEPENDS[$pkg]=$deps
done < <(dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Depends}, ${Pre-Depends}\n' | awk -F'\t' '
  $1 ~ /^ii/ {
    deps = $3
    gsub(/\([^)]*\)/, "", deps)      # versions
    gsub(/:[a-z0-9]+/, "", deps)      # :any, :amd64
    gsub(/[|,]/, " ", deps)           # alternatives: each one installed counts
    gsub(/[[:space:]]+/, " ", deps)
    print $2 "\t" deps
  }')

declare -A NAMED=() CLOSURE=() VIA=()
for p in "${RUNTIME_PACKAGES[@]}" "${BASE_PACKAGES[@]}"; do NAMED[$p]=1; done
queue=("${RUNTIME_PACKAGES[@]}" "${BASE_PACKAGES[@]}")
for p in "${queue[@]}"; do CLOSURE[$p]=1; VIA[$p]=$p; done
not_here=()
while [[ ${#queue[@]} -gt 0 ]]; do
  p=${queue[0]}
  queue=("${queue[@]:1}")
  if [[ -z ${DEPENDS[$p]+x} ]]; then
    [[ -n ${NAMED[$p]:-} ]] && not_here+=("$p")
    continue
  fi
  for d in ${DEPENDS[$p]}; do
    [[ -n ${DEPENDS[$d]+x} && -z ${CLOSURE[$d]:-} ]] || continue
    CLOSURE[$d]=1
    VIA[$d]=${VIA[$p]}
    queue+=("$d")
  done
done
if [[ ${#not_here[@]} -gt 0 ]]; then
  echo "note: not installed here, so their dependencies are not followed: ${not_here[*]}"
fi

# OWNER[path]: the Debian package(s) owning each library path ldd lists, asked of dpkg in one
# call (it reads its whole database each time). Under merged /usr a library may be registered as
# /usr/lib/... or /lib/..., and as the symlink or its target: all four forms are asked.
declare -A OWNER=()
lib_paths=$(ldd "${BINARIES[@]}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
declare -A FORMS=()
for f in $lib_paths; do
  real=$(readlink -f "$f")
  for c in "$f" "/usr$f" "$real" "${real#/usr}"; do FORMS[$c]=1; done
done
while IFS= read -r line; do
  [[ $line == diversion* ]] && continue
  owners=${line%%: /*}
  OWNER[/${line#*: /}]=$(sed -E 's/:[a-z0-9]+//g' <<<"$owners")
done < <(dpkg -S "${!FORMS[@]}" 2>/dev/null || true)
# package_of FILE: the package(s) owning FILE, comma-separated; empty when none does.
package_of() {
  local f=$1 real c
  real=$(readlink -f "$f")
  for c in "$f" "/usr$f" "$real" "${real#/usr}"; do
    [[ -n ${OWNER[$c]:-} ]] && { echo "${OWNER[$c]}"; return 0; }
  done
  return 0
}

# ---------------------------------------------------------------- the binaries' libraries
for bin in "${BINARIES[@]}"; do
  name=$(basename "$bin")
  needed=" $(readelf -d "$bin" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' | tr '\n' ' ')"
  problems=()
  sanitizer=()
  count=0
  # Libraries whose package is missing, grouped by package: MISSING[pkg] the sonames,
  # LINKED[pkg] set when the binary links one of them directly.
  declare -A MISSING=() LINKED=()
  order=()
  while read -r soname arrow path _; do
    [[ $soname == linux-vdso* || $soname == linux-gate* ]] && continue
    if [[ $arrow != "=>" ]]; then path=$soname; soname=$(basename "$soname"); fi  # the loader
    if [[ $path == "not" ]]; then
      problems+=("$soname is not found on this machine (ldd: not found)")
      continue
    fi
    if [[ $soname =~ $SANITIZER_LIBS ]]; then sanitizer+=("$soname"); continue; fi
    count=$((count + 1))
    pkgs=$(package_of "$path")
    if [[ -z $pkgs ]]; then
      problems+=("$soname ($path) belongs to no Debian package: the image cannot get it with apt-get")
      continue
    fi
    direct=""
    [[ $needed == *" $soname "* ]] && direct=1
    found=""
    IFS=', ' read -r -a owners <<<"$pkgs"
    for pkg in "${owners[@]}"; do
      if [[ -n $direct && -n ${NAMED[$pkg]:-} ]] || [[ -z $direct && -n ${CLOSURE[$pkg]:-} ]]; then found=$pkg; fi
    done
    [[ -n $found ]] && continue
    pkg=${owners[0]}
    [[ -n ${MISSING[$pkg]+x} ]] || order+=("$pkg")
    MISSING[$pkg]+=" $soname"
    [[ -n $direct ]] && LINKED[$pkg]=1
  done < <(ldd "$bin")
  for pkg in "${order[@]}"; do
    libs=${MISSING[$pkg]# }
    if [[ -n ${LINKED[$pkg]:-} && -n ${CLOSURE[$pkg]:-} ]]; then
      problems+=("$name links ${libs// /, } directly, from package $pkg, which the runtime stage only gets as a dependency of ${VIA[$pkg]}: name $pkg in its apt-get install")
    else
      problems+=("$name needs ${libs// /, } from package $pkg, which deploy/Dockerfile's runtime stage does not install: add $pkg to its apt-get install")
    fi
  done
  unset MISSING LINKED
  if [[ ${#sanitizer[@]} -gt 0 ]]; then
    echo "note: $name is a sanitizer build; ignoring ${sanitizer[*]} (the image is built in Release without them)"
  fi
  if [[ ${#problems[@]} -eq 0 ]]; then
    ok "$name: all $count libraries ldd lists come from packages the runtime stage installs"
  else
    bad "$name: libraries missing from the image"
    printf '       %s\n' "${problems[@]}"
  fi
done

finish "deploy image libraries"
