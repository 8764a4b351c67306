# Sourced by scripts/test, scripts/demo and scripts/bench: the Debian 12
# packages acmed needs to build and test, installed when missing.

DEPS_PACKAGES=(
	gcc clang libclang-rt-14-dev meson ninja-build pkg-config
	libssl-dev libcurl4-openssl-dev libjansson-dev libev-dev libcmocka-dev
	scdoc pebble clang-format openssl curl python3 valgrind ca-certificates faketime
	man-db systemd systemd-container nginx-light bind9 bind9-dnsutils
	libhiredis-dev redis-server libidn2-dev prometheus libc-ares-dev libldns-dev iproute2
)

# Prints the packages of DEPS_PACKAGES (or of the arguments) not installed.
deps_missing()
{
	local pkg status
	local -a want=("$@")

	if ((${#want[@]} == 0)); then
		want=("${DEPS_PACKAGES[@]}")
	fi
	for pkg in "${want[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		if [[ $status != "install ok installed" ]]; then
			printf '%s\n' "$pkg"
		fi
	done
}

# Installs what is missing (as root), or prints the apt-get line to run and
# returns 1 (as another user).
deps_install()
{
	local -a missing

	mapfile -t missing < <(deps_missing "$@")
	if ((${#missing[@]} == 0)); then
		return 0
	fi
	if ((EUID != 0)); then
		echo "missing packages; run as root:" >&2
		echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || return 1
	# nginx and BIND are for the tests, which start their own on loopback
	# ports: a policy-rc.d that says no keeps their packages from starting
	# the system's instances (on ports 80 and 53) where nothing says so yet.
	local policy=/usr/sbin/policy-rc.d own_policy=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	local rc=$?
	if [[ -n $own_policy ]]; then
		rm -f "$policy"
	fi
	return "$rc"
}
