#!/bin/sh
# build-musl.sh WORK — the two programs of the Plesk package, linked fully
# static against musl, so that they run on every x86_64 Plesk platform
# (AlmaLinux/RHEL 8 has glibc 2.28, Debian 11 and Ubuntu 20.04 2.31; a
# program linked against this machine's glibc 2.36 starts on none of them).
#
# The libraries come from Debian's own sources (apt-get source, through a
# private deb-src list: the system's apt configuration is not touched) and
# are built with musl-gcc into WORK/prefix once: zlib, SQLite (amalgamation,
# FTS5), jansson, libmaxminddb, OpenSSL (no config file, engines or modules:
# the host's openssl.cnf is never read), libcurl (SMTP only, no CA path built
# in: src/alert/smtp.c names the system's bundle) and mimalloc (musl's
# allocator maps and unmaps SQLite's page-sized blocks: 4x the system time).
# WORK/versions.txt lists the source versions: OpenSSL and libcurl fixes
# reach the package only by rebuilding it.
#
# Then the project's own objects are compiled with musl-gcc by the Makefile
# (BUILD=WORK/obj) and linked into WORK/out/maillog and WORK/out/maillog.cgi.
set -eu

[ $# -eq 1 ] || { echo "usage: build-musl.sh WORK" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(realpath -m "$1")
P=$W/prefix
J=$(nproc)
mkdir -p "$W/src" "$W/out"

"$ROOT/scripts/deps.sh" musl

fetch_sources() {
    mkdir -p "$W/apt/lists/partial" "$W/apt/cache/archives/partial" "$W/apt/parts"
    key=/usr/share/keyrings/debian-archive-keyring.gpg
    {
        echo "deb-src [signed-by=$key] http://deb.debian.org/debian bookworm main"
        echo "deb-src [signed-by=$key] http://deb.debian.org/debian bookworm-updates main"
        echo "deb-src [signed-by=$key] http://deb.debian.org/debian-security bookworm-security main"
    } >"$W/apt/sources.list"
    apt="-q -o Dir::Etc::SourceList=$W/apt/sources.list -o Dir::Etc::SourceParts=$W/apt/parts"
    apt="$apt -o Dir::State::Lists=$W/apt/lists -o Dir::Cache=$W/apt/cache -o APT::Sandbox::User=root"
    # shellcheck disable=SC2086
    apt-get $apt update >/dev/null
    cd "$W/src"
    for pkg in zlib sqlite3 jansson libmaxminddb openssl curl mimalloc; do
        ls -d "$pkg"-*/ >/dev/null 2>&1 && continue
        # The newest version first; when the mirror lacks its files (seen: a
        # security update listed before its .dsc arrived), the release's own.
        # shellcheck disable=SC2086
        apt-get $apt source "$pkg" >/dev/null 2>&1 || apt-get $apt source "$pkg/bookworm" >/dev/null
    done
    ls -d */ | tr -d / | tr '\n' ' ' >"$W/versions.txt"
}

CF="-O2 -fstack-protector-strong -ffunction-sections -fdata-sections"
KINC="-idirafter $P/kinc" # the kernel's linux/ and asm/ headers (musl has none)

build_zlib() {
    b=$W/obj-deps/zlib
    rm -rf "$b" && cp -r "$W"/src/zlib-*/ "$b" && cd "$b"
    CC=musl-gcc CFLAGS="$CF" ./configure --static --prefix="$P" >/dev/null
    make -s -j"$J" libz.a >/dev/null && make -s install >/dev/null
}

build_sqlite() {
    # configure against musl for its sqlite_cfg.h (pread, fdatasync, …), make
    # the amalgamation, then one compile with Debian's options and FTS5
    b=$W/obj-deps/sqlite
    rm -rf "$b" && mkdir -p "$b" && cd "$b"
    CC=musl-gcc "$W"/src/sqlite3-*/configure --enable-fts5 --disable-load-extension \
        --disable-readline --disable-tcl >/dev/null
    make -s sqlite3.c >/dev/null 2>&1
    musl-gcc $CF -D_HAVE_SQLITE_CONFIG_H -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_FTS3 \
        -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_RTREE=1 -DSQLITE_ENABLE_COLUMN_METADATA \
        -DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ENABLE_JSON1 \
        -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_THREADSAFE=1 -DSQLITE_USE_URI=1 \
        -DSQLITE_MAX_SCHEMA_RETRY=25 -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_ENABLE_STMTVTAB \
        -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_MAX_VARIABLE_NUMBER=250000 \
        -c sqlite3.c -o sqlite3.o
    ar rcs "$P/lib/libsqlite3.a" sqlite3.o
    cp sqlite3.h sqlite3ext.h "$P/include/"
    printf 'Name: SQLite\nDescription: SQL database engine\nVersion: 3\nLibs: -L%s/lib -lsqlite3\nCflags: -I%s/include\n' \
        "$P" "$P" >"$P/lib/pkgconfig/sqlite3.pc"
}

# cmake_static NAME SRCDIR ARGS… — a static library with CMake, into PREFIX
cmake_static() {
    name=$1 dir=$2
    shift 2
    b=$W/obj-deps/$name
    rm -rf "$b"
    if ! { cmake -S "$dir" -B "$b" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=musl-gcc \
        -DCMAKE_C_FLAGS="$CF $KINC" -DCMAKE_INSTALL_PREFIX="$P" -DCMAKE_INSTALL_LIBDIR=lib \
        -DBUILD_SHARED_LIBS=OFF -DCMAKE_FIND_ROOT_PATH="$P" -DCMAKE_PREFIX_PATH="$P" \
        -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
        -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY "$@" &&
        cmake --build "$b" -j"$J" && cmake --install "$b"; } >"$b.log" 2>&1; then
        tail -30 "$b.log" >&2
        echo "build-musl: $name failed (log: $b.log)" >&2
        exit 1
    fi
}

build_jansson() {
    cmake_static jansson "$(echo "$W"/src/jansson-*/)" -DJANSSON_BUILD_DOCS=OFF \
        -DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON -DUSE_URANDOM=ON
}

build_maxminddb() {
    cmake_static maxminddb "$(echo "$W"/src/libmaxminddb-*/)" -DBUILD_TESTING=OFF \
        -DMAXMINDDB_BUILD_BINARIES=OFF
}

build_openssl() {
    b=$W/obj-deps/openssl
    rm -rf "$b" && mkdir -p "$b" && cd "$b"
    "$(echo "$W"/src/openssl-*/)Configure" linux-x86_64 no-shared no-dso no-engine no-async \
        no-afalgeng no-comp no-tests no-ui-console no-legacy no-ssl3 no-dtls no-srp no-idea \
        no-rc5 no-md2 no-mdc2 no-whirlpool no-seed no-camellia no-aria no-sm2 no-sm3 no-sm4 \
        --prefix="$P" --libdir=lib --openssldir=/nonexistent/maillog-ssl \
        CC=musl-gcc CFLAGS="$CF $KINC" >/dev/null
    make -s -j"$J" build_libs >"$b.log" 2>&1 || { tail -30 "$b.log" >&2; exit 1; }
    make -s install_dev >/dev/null
}

build_curl() {
    # SMTP(S) only. HTTP stays compiled: Debian's security patches put a
    # function the SMTP code needs in http.c.
    cmake_static curl "$(echo "$W"/src/curl-*/)" -DCURL_USE_OPENSSL=ON -DOPENSSL_ROOT_DIR="$P" \
        -DOPENSSL_USE_STATIC_LIBS=ON -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF \
        -DCURL_DISABLE_LDAP=ON -DCURL_DISABLE_LDAPS=ON -DCURL_DISABLE_FTP=ON \
        -DCURL_DISABLE_FILE=ON -DCURL_DISABLE_TELNET=ON -DCURL_DISABLE_DICT=ON \
        -DCURL_DISABLE_TFTP=ON -DCURL_DISABLE_RTSP=ON -DCURL_DISABLE_POP3=ON \
        -DCURL_DISABLE_IMAP=ON -DCURL_DISABLE_GOPHER=ON -DCURL_DISABLE_MQTT=ON \
        -DCURL_DISABLE_SMB=ON -DCURL_DISABLE_COOKIES=ON -DCURL_DISABLE_ALTSVC=ON \
        -DCURL_DISABLE_HSTS=ON -DCURL_DISABLE_PROXY=ON -DCURL_DISABLE_NETRC=ON \
        -DCURL_DISABLE_DOH=ON -DCURL_DISABLE_MIME=ON -DUSE_NGHTTP2=OFF -DUSE_LIBIDN2=OFF \
        -DCURL_USE_LIBPSL=OFF -DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBSSH=OFF -DCURL_ZLIB=OFF \
        -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DCURL_USE_GSSAPI=OFF -DENABLE_THREADED_RESOLVER=ON \
        -DENABLE_UNIX_SOCKETS=OFF -DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none \
        -DCURL_CA_FALLBACK=OFF
}

build_mimalloc() {
    # one object, linked first, that replaces musl's malloc
    src=$(echo "$W"/src/mimalloc-*/)
    musl-gcc -O2 -fstack-protector-strong -DNDEBUG -DMI_MALLOC_OVERRIDE -I"$src/include" \
        -c "$src/src/static.c" -o "$P/lib/mimalloc.o"
}

# ---- the libraries, once (WORK/prefix/.built holds the versions built) ----
if [ ! -f "$P/.built" ] || [ ! -f "$W/versions.txt" ] || ! cmp -s "$P/.built" "$W/versions.txt"; then
    fetch_sources
    rm -rf "$P" "$W/obj-deps"
    mkdir -p "$P/lib/pkgconfig" "$P/include" "$P/kinc" "$W/obj-deps"
    for d in linux asm-generic; do ln -sfn "/usr/include/$d" "$P/kinc/$d"; done
    ln -sfn /usr/include/x86_64-linux-gnu/asm "$P/kinc/asm"
    for lib in zlib sqlite jansson maxminddb openssl curl mimalloc; do
        t0=$(date +%s)
        "build_$lib"
        echo "build-musl: $lib ($(($(date +%s) - t0)) s)" >&2
    done
    cp "$W/versions.txt" "$P/.built"
    rm -rf "$W/obj-deps" "$W/src"/*/ # the sources' trees: 300 MB, not needed again
fi

# ---- the programs ----
export PKG_CONFIG_LIBDIR="$P/lib/pkgconfig" PKG_CONFIG_PATH=
cd "$ROOT"
# DEPS_STAMP=Makefile: an existing file, so the sub-make installs nothing.
make -s -j"$J" CC=musl-gcc BUILD="$W/obj" DEPS_STAMP=Makefile \
    CFLAGS="-O2 -g -fstack-protector-strong -ffunction-sections -fdata-sections" \
    "$W/obj/libmaillog.a" "$W/obj/src/cli/maillog.o" "$W/obj/src/api/maillog_cgi.o"
libs="$(pkg-config --static --libs sqlite3 jansson libmaxminddb libcurl zlib) -lm"
ldflags="-static -Wl,--gc-sections -Wl,-O1 -Wl,--build-id $P/lib/mimalloc.o"
# The CGI never sends mail: --gc-sections leaves libcurl out of it.
# shellcheck disable=SC2086
musl-gcc $ldflags -o "$W/out/maillog" "$W/obj/src/cli/maillog.o" "$W/obj/libmaillog.a" $libs
# shellcheck disable=SC2086
musl-gcc $ldflags -o "$W/out/maillog.cgi" "$W/obj/src/api/maillog_cgi.o" "$W/obj/libmaillog.a" $libs
echo "build-musl: $W/out/maillog, $W/out/maillog.cgi (static, musl; $(cat "$W/versions.txt"))"
