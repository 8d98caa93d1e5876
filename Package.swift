// swift-tools-version: 6.1
import PackageDescription

// The targets, lower layers first, and the targets each imports (it lists exactly those, plus
// the outside products it imports); arrows only point down. docs/architecture.md says what each holds.
//
//   AviaryRoutes, AviaryExpression, AviaryJSON     (none of ours; AviaryJSON holds JSONValue, the one untyped JSON value)
//   AviaryMeta          <- JSON (ObjectMeta and OwnerReference, for Argo's resources and Kubernetes objects alike)
//   AviaryModel         <- Routes, JSON, Meta (and the one RFC 3339 codec)
//   AviaryStore         <- Model
//   AviaryCore          <- Model, Meta, JSON, Expression
//   AviaryPlatform      <- Model
//   AviaryAPI           <- Model
//   AviaryMetrics       <- Core, Model, JSON, Expression
//   AviaryRouter        <- Routes
//   AviaryLocal         <- Platform, Routes, Model
//   AviaryKubernetes    <- JSON, Meta (the Kubernetes client)
//   AviaryStore         also holds ResourceStore, the controller's seam to where resources live
//   AviaryKubernetesPlatform <- Kubernetes, JSON, Meta, Platform, Store, Model (Argo's resources and the platform on an API server)
//   AviaryServer        <- API, Core, Metrics, Platform, Local, KubernetesPlatform, Kubernetes, Store, Model, Meta, JSON
//   AviaryClient        <- API, Model, Meta, JSON, Kubernetes (no GRDB, no Hummingbird: what `aviary get` and the dashboard
//                          use; a daemon's API or, in cluster mode, an API server)
//   AviaryDashboard     <- Client, API, Expression, Kubernetes, Meta, Model (the web dashboard's pages, charts, sessions: pure HTML from API answers)
//   AviaryServer        also <- Dashboard, Client (the dashboard reads the daemon's own API)
//   AviaryHarness       <- Client, Local (the demo, chaos and soak)
//   aviary              <- Server, Client, Harness, Local, Router, Metrics, Core, Model, JSON, Expression
//   aviary-reliability  <- Harness
//   benches             <- Core, Model or Router (aviary-bench-floor <- Router, for its WeightedSchedule, and CAviaryEpoll)
let package = Package(
    name: "Aviary",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aviary", targets: ["aviary"]),
        .executable(name: "aviary-sample-app", targets: ["aviary-sample-app"]),
        .executable(name: "aviary-bench-reconcile", targets: ["aviary-bench-reconcile"]),
        .executable(name: "aviary-reliability", targets: ["aviary-reliability"]),
        .executable(name: "aviary-bench-router", targets: ["aviary-bench-router"]),
        .executable(name: "aviary-bench-floor", targets: ["aviary-bench-floor"]),
        .executable(name: "aviary-bench-timestamps", targets: ["aviary-bench-timestamps"]),
        .executable(name: "aviary-bench-dashboard", targets: ["aviary-bench-dashboard"]),
        .executable(name: "aviary-test-apiserver", targets: ["aviary-test-apiserver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.30.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        .target(name: "AviaryRoutes"),
        // sched_setattr(2) for the router's event loops, which glibc before 2.41 does not wrap.
        .target(name: "CAviaryScheduling"),
        // epoll(7) and accept4(2) for code with its own event loop (bench/router/floor).
        .target(name: "CAviaryEpoll"),
        // JSONValue, the one untyped JSON value (manifests' opaque fields, Kubernetes objects,
        // the API server double's store), and its one-pass parser.
        .target(name: "AviaryJSON"),
        // ObjectMeta and OwnerReference: the metadata of Argo's resources and of every object the
        // Kubernetes client handles, one type for both.
        .target(name: "AviaryMeta", dependencies: ["AviaryJSON"]),
        .target(
            name: "AviaryModel",
            dependencies: ["AviaryRoutes", "AviaryJSON", "AviaryMeta", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "AviaryExpression"),
        // Go's text/template, for Argo's notification templates.
        .target(name: "AviaryGoTemplate"),
        .target(
            name: "AviaryCore",
            dependencies: ["AviaryModel", "AviaryMeta", "AviaryJSON", "AviaryExpression", "AviaryGoTemplate"]
        ),
        .target(name: "AviaryPlatform", dependencies: ["AviaryModel"]),
        // Argo's out-of-process plugins: hashicorp/go-plugin's net/rpc protocol (gob over yamux).
        .target(
            name: "AviaryGoPlugin",
            dependencies: [
                "AviaryJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "AviaryMetrics",
            dependencies: [
                "AviaryModel",
                "AviaryRoutes",
                "AviaryPlatform",
                "AviaryJSON",
                "AviaryExpression",
                "AviaryCore",
                "AviaryGoPlugin",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "AviaryRouter",
            dependencies: [
                "AviaryRoutes",
                "CAviaryScheduling",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            // The proxy's handlers are only ever touched from their own event loop; the dynamic
            // exclusivity checks of their state cost about 2% of a proxied request in release.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "AviaryStore",
            dependencies: ["AviaryModel", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "AviaryLocal",
            dependencies: [
                "AviaryModel",
                "AviaryPlatform",
                "AviaryRoutes",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The wire types of the daemon's HTTP API, shared by the server's routes and the client.
        .target(name: "AviaryAPI", dependencies: ["AviaryModel"]),
        .target(
            name: "AviaryServer",
            dependencies: [
                "AviaryAPI",
                "AviaryClient",
                "AviaryJSON",
                "AviaryMeta",
                "AviaryDashboard",
                "AviaryModel",
                "AviaryCore",
                "AviaryMetrics",
                "AviaryGoPlugin",
                "AviaryPlatform",
                "AviaryLocal",
                "AviaryKubernetes",
                "AviaryKubernetesPlatform",
                "AviaryStore",
                "AviaryGoTemplate",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the CLI and the dashboard use to talk to a daemon (or, in cluster mode, to an API server):
        // the API client, its queries, the renderers.
        .target(
            name: "AviaryClient",
            dependencies: [
                "AviaryAPI",
                "AviaryJSON",
                "AviaryMeta",
                "AviaryKubernetes",
                "AviaryModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The web dashboard's pages, charts, script and sessions, from the API's answers (the daemon serves it).
        .target(
            name: "AviaryDashboard",
            dependencies: [
                "AviaryAPI", "AviaryClient", "AviaryExpression", "AviaryKubernetes", "AviaryMeta", "AviaryModel",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The demo, chaos and soak: clients of a daemon they start as a process.
        .target(
            name: "AviaryHarness",
            dependencies: [
                "AviaryClient",
                "AviaryLocal",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "AviaryKubernetes",
            dependencies: [
                "AviaryJSON",
                "AviaryMeta",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Argo's resources on an API server as the controller's ResourceStore, and the Kubernetes platform.
        .target(
            name: "AviaryKubernetesPlatform",
            dependencies: ["AviaryKubernetes", "AviaryJSON", "AviaryMeta", "AviaryPlatform", "AviaryStore", "AviaryModel"]
        ),
        // Runs a Lease election against an API server and prints `leading`/`stopped`; the leader-election
        // tests kill it with SIGKILL and SIGTERM.
        .executableTarget(
            name: "aviary-lease-holder",
            dependencies: ["AviaryKubernetes"],
            path: "Tests/LeaseHolder"
        ),
        // Writes acknowledged records until killed; the durability test kills it with SIGKILL.
        .executableTarget(
            name: "aviary-store-writer",
            dependencies: ["AviaryStore"],
            path: "Tests/StoreWriter"
        ),
        .executableTarget(
            name: "aviary",
            dependencies: [
                "AviaryAPI",
                "AviaryModel",
                "AviaryJSON",
                "AviaryExpression",
                "AviaryCore",
                "AviaryMetrics",
                "AviaryGoPlugin",
                "AviaryRouter",
                "AviaryLocal",
                "AviaryServer",
                "AviaryClient",
                "AviaryHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // scripts/chaos and scripts/soak.
        .executableTarget(
            name: "aviary-reliability",
            dependencies: ["AviaryHarness", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "aviary-bench-reconcile",
            dependencies: ["AviaryCore", "AviaryModel"],
            path: "bench/reconcile",
            exclude: ["run"]
        ),
        .executableTarget(
            name: "aviary-bench-router",
            dependencies: ["AviaryRouter"],
            path: "bench/router",
            exclude: ["run", "HISTORY.md", "legs.py", "floor"]
        ),
        // The least an HTTP/1.1 proxy costs here: bench/router/run with ROUTER=floor.
        .executableTarget(
            name: "aviary-bench-floor",
            dependencies: ["AviaryRouter", "CAviaryEpoll"],
            path: "bench/router/floor"
        ),
        .executableTarget(
            name: "aviary-bench-dashboard",
            dependencies: ["AviaryDashboard", "AviaryClient", "AviaryAPI", "AviaryModel"],
            path: "bench/dashboard",
            exclude: ["run"]
        ),
        .executableTarget(
            name: "aviary-bench-timestamps",
            dependencies: ["AviaryModel"],
            path: "bench/timestamps",
            exclude: ["run"]
        ),
        // The Kubernetes API server test double (tests only; no product target imports it).
        .target(
            name: "KubernetesTestDouble",
            dependencies: [
                "AviaryJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "aviary-test-apiserver",
            dependencies: [
                "KubernetesTestDouble",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "aviary-sample-app",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "AviaryModelTests", dependencies: ["AviaryJSON", "AviaryModel"]),
        .testTarget(name: "AviaryExpressionTests", dependencies: ["AviaryExpression"]),
        .testTarget(
            name: "AviaryCoreTests",
            dependencies: ["AviaryCore", "AviaryExpression", "AviaryGoTemplate", "AviaryJSON", "AviaryModel", "AviaryRoutes"]),
        .testTarget(name: "AviaryGoTemplateTests", dependencies: ["AviaryGoTemplate"]),
        .testTarget(
            name: "AviaryDashboardTests",
            dependencies: ["AviaryDashboard", "AviaryClient", "AviaryAPI", "AviaryMeta", "AviaryModel"]),
        .testTarget(name: "AviaryGoPluginTests", dependencies: ["AviaryGoPlugin", "AviaryJSON", "AviaryTestSupport"]),
        .testTarget(
            name: "AviaryMetricsTests",
            dependencies: [
                "AviaryMetrics", "AviaryCore", "AviaryExpression", "AviaryJSON", "AviaryModel", "AviaryPlatform",
                "AviaryRoutes", "AviaryTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["metric_plugin_peer", "traffic_router_plugin_peer", "step_plugin_peer"]),
        .testTarget(
            name: "AviaryRouterTests",
            dependencies: [
                "AviaryRouter",
                "AviaryRoutes",
                "AviaryTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["websocket_peer.py", "tls_keepalive_client.py", "grpc_peer.py"]
        ),
        // The helpers the test targets share: built products, polling, HTTP calls, the daemon.
        .target(
            name: "AviaryTestSupport",
            dependencies: [
                "AviaryHarness",
                "AviaryLocal",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/AviaryTestSupport"
        ),
        .testTarget(
            name: "AviaryStoreTests", dependencies: ["AviaryStore", "AviaryTestSupport", "aviary-store-writer"]
        ),
        // The executables a test target lists are built for it to run, not imported.
        .testTarget(
            name: "AviaryLocalTests",
            dependencies: [
                "AviaryLocal", "AviaryModel", "AviaryPlatform", "AviaryRouter", "AviaryRoutes", "AviaryTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"), "aviary", "aviary-sample-app",
            ]
        ),
        .testTarget(
            name: "AviaryServerTests",
            dependencies: [
                "AviaryServer", "AviaryAPI", "AviaryClient", "AviaryHarness", "AviaryJSON", "AviaryLocal", "AviaryMeta",
                "AviaryModel",
                "AviaryPlatform",
                "AviaryStore", "AviaryTestSupport", "aviary", "aviary-sample-app",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["dashboard_browser.py"]
        ),
        .testTarget(
            name: "AviaryKubernetesTests",
            dependencies: [
                "AviaryJSON",
                "AviaryKubernetes",
                "AviaryMeta",
                "aviary-lease-holder",
                "aviary-test-apiserver",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The controller on the Kubernetes platform, against aviary-test-apiserver with real kubectl.
        .testTarget(
            name: "KubernetesControllerTests",
            dependencies: [
                "AviaryCore", "AviaryJSON", "AviaryKubernetes", "AviaryKubernetesPlatform", "AviaryModel", "AviaryServer",
                "AviaryTestSupport", "aviary", "aviary-test-apiserver", .product(name: "Yams", package: "Yams"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The CLI's cluster mode and `aviary install kubernetes`, against `aviary-test-apiserver` and kubectl.
        .testTarget(
            name: "AviaryClusterCLITests",
            dependencies: [
                "aviary", "AviaryClient", "AviaryJSON", "AviaryKubernetes", "AviaryTestSupport", "aviary-test-apiserver",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "AviaryJSONTests", dependencies: ["AviaryJSON"]),
        .testTarget(
            name: "KubernetesDoubleTests",
            dependencies: ["AviaryJSON", "KubernetesTestDouble", "aviary-test-apiserver"],
            exclude: ["kube_client_check.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
