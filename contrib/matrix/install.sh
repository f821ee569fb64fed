#!/usr/bin/env bash
# Installs the servers of the matrix (Debian packages) when their programs are missing.
set -euo pipefail
need=()
command -v nginx >/dev/null || need+=(nginx)
command -v apache2 >/dev/null || need+=(apache2)
command -v lighttpd >/dev/null || need+=(lighttpd)
command -v busybox >/dev/null || need+=(busybox)
command -v mini_httpd >/dev/null || need+=(mini-httpd)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
