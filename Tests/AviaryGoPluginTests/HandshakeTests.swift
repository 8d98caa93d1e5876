import Testing

@testable import AviaryGoPlugin

/// go-plugin's handshake line, read as its client reads it.
@Suite struct HandshakeTests {
    let argo = GoPluginHandshake(
        protocolVersion: 1, magicCookieKey: "ARGO_ROLLOUTS_RPC_PLUGIN", magicCookieValue: "metricprovider")

    @Test func theLinesGoPluginPrintsAreRead() throws {
        // go-plugin 1.0 (Debian's) and 1.6 (Argo's) print a trailing empty certificate field.
        let unix = try GoPluginAddress(handshakeLine: "1|1|unix|/tmp/plugin2434652284|netrpc|\n", expecting: argo)
        #expect(unix == GoPluginAddress(appProtocolVersion: 1, network: "unix", address: "/tmp/plugin2434652284"))
        let tcp = try GoPluginAddress(handshakeLine: "1|1|tcp|127.0.0.1:10001|netrpc", expecting: argo)
        #expect(tcp.network == "tcp")
        #expect(tcp.address == "127.0.0.1:10001")
        // Before go-plugin had a protocol field, net/rpc was the only one.
        #expect(try GoPluginAddress(handshakeLine: "1|1|tcp|127.0.0.1:10001", expecting: argo).network == "tcp")
    }

    @Test(arguments: [
        (
            "Starting the server on :8080",
            "the plugin printed \"Starting the server on :8080\" where go-plugin's handshake line "
                + "CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|PROTOCOL belongs; is it built with hashicorp/go-plugin?"
        ),
        ("2|1|unix|/tmp/p|netrpc|", "the plugin speaks go-plugin core protocol 2; Aviary speaks 1"),
        ("1|2|unix|/tmp/p|netrpc|", "the plugin speaks plugin protocol 2; Argo's metricprovider plugins speak 1"),
        (
            "1|1|unix|/tmp/p|grpc|",
            "the plugin serves grpc; Argo's plugins are served over netrpc (go-plugin's net/rpc)"
        ),
        (
            "1|1|unix|/tmp/p|netrpc|MIIBszCCAVmgAwIBAgIR",
            "the plugin asks for mutual TLS (go-plugin's AutoMTLS), which Argo does not use"
        ),
    ])
    func aLineAviaryCannotUseIsRefused(line: String, message: String) {
        #expect(throws: GoPluginError.handshake(message)) {
            try GoPluginAddress(handshakeLine: line, expecting: argo)
        }
    }
}

/// A plugin's stderr lines, read as go-plugin's client reads them.
@Suite struct PluginLogLineTests {
    @Test(arguments: [
        (
            #"{"@level":"info","@message":"peer starting","@timestamp":"2026-12-06T05:55:46Z","args":"[-v]"}"#,
            PluginLogLine(level: "info", message: "peer starting args=[-v]")
        ),
        (
            #"{"@level":"WARN","@message":"slow query","ms":1200}"#,
            PluginLogLine(level: "warn", message: "slow query ms=1200")
        ),
        (
            "2026/12/06 05:55:48 [ERR] plugin: plugin server: accept unix /tmp/p: use of closed network connection",
            PluginLogLine(
                level: "debug",
                message:
                    "2026/12/06 05:55:48 [ERR] plugin: plugin server: accept unix /tmp/p: use of closed network "
                    + "connection")
        ),
        ("{not json", PluginLogLine(level: "debug", message: "{not json")),
    ])
    func linesAreReadAsHclogsOrDebug(text: String, line: PluginLogLine) {
        #expect(PluginLogLine(text) == line)
    }
}
