#!/usr/bin/env bash
# Installs (once) the Debian packages the tests use as oracles and peers when they are
# missing: GnuPG (signs and checks OpenPGP signatures), Chromium and ChromeDriver (the
# browser test of `baken serve`'s pages).
set -euo pipefail
missing=()
command -v gpg >/dev/null || missing+=(gnupg)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
