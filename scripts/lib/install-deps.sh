# install_deps CMD...: installs the Debian packages that provide the missing commands.
# Each argument is a command name; the package of the same name provides it unless mapped below.
install_deps() {
    local missing=()
    local cmd pkg
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 && continue
        case "$cmd" in
            nginx) pkg=nginx-light ;;
            strip) pkg=binutils ;;
            cc) pkg=gcc ;;
            dpkg-deb) pkg=dpkg ;;
            carbon-cache) pkg=graphite-carbon ;;
            graphite-manage) pkg=graphite-web ;;
            chromedriver) pkg=chromium-driver ;;
            h2load) pkg=nghttp2-client ;;
            *) pkg=$cmd ;;
        esac
        missing+=("$pkg")
    done
    apt_install "${missing[@]}"
}

# apt_install PACKAGE...: installs the packages (none: nothing to do); not as root, prints the
# command to run instead and fails.
apt_install() {
    [ $# -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing: $*; install them with: sudo apt-get install -y $*" >&2
        return 1
    fi
    echo "installing: $*" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# install_python_package MODULE [PACKAGE]: a Python package from PyPI unless MODULE already
# imports. Debian's own python3 refuses `pip install` into the system (PEP 668) unless told
# --break-system-packages; a pyenv or venv python takes it plainly.
install_python_package() {
    local module="$1" package="${2:-$1}"
    python3 -c "import $module" >/dev/null 2>&1 && return 0
    if ! python3 -m pip --version >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "missing: pip for python3; install it with: sudo apt-get install -y python3-pip" >&2
            return 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
    fi
    echo "installing: the Python package $package (pip)" >&2
    python3 -m pip install --quiet "$package" >/dev/null 2>&1 \
        || python3 -m pip install --quiet --break-system-packages "$package"
}

# install_python_kubernetes_client: the official Python `kubernetes` client, which
# Tests/KubernetesDoubleTests drives against aviary-test-apiserver.
install_python_kubernetes_client() {
    install_python_package kubernetes
}

# install_go_plugin_sdk: Go and the hashicorp/go-plugin sources Debian packages (with what its
# package imports: grpc, genproto, protobuf), enough to build a go-plugin binary offline in GOPATH
# mode, as the metric plugin tests do.
install_go_plugin_sdk() {
    local packages=(golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev
        golang-google-genproto-dev golang-github-golang-protobuf-1-5-dev)
    local missing=() pkg
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    apt_install "${missing[@]}"
}
