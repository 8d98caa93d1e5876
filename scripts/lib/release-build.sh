# Release builds of Aviary, as bench/ measures them and as they are meant to ship. Source it, then
#   release_build --product aviary      (any `swift build` arguments)
#   bin=$(release_bin)
# or, in a bench script, bench_build: the same, or with CONFIG=debug the debug build in .build
# (only to try the script out).
# Builds go to .build-release, so they neither wait for nor invalidate the debug build in .build.
#
# Every module, SwiftNIO's included, is compiled with -enforce-exclusivity=unchecked: the dynamic
# checks that two accesses to one variable do not overlap cost about 3.5% of a proxied request in
# NIO's channel code alone (perf, bench/router), and SwiftNIO's maintainers suggest this flag for
# measuring NIO services. The static checks still run; what is given up is the run-time trap on an
# overlapping access the compiler could not see. Package.swift already sets it for the router
# target in any release build; a plain `swift build -c release` works too, a few percent slower.
release_scratch=.build-release
release_flags=(-c release --scratch-path "$release_scratch" -Xswiftc -enforce-exclusivity=unchecked)
release_build() { swift build "${release_flags[@]}" "$@"; }
release_bin() { swift build "${release_flags[@]}" --show-bin-path; }
bench_build() {
    if [ "${CONFIG:-release}" = release ]; then release_build "$@"; else swift build "$@"; fi
}
