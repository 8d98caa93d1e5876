/// The version of Aviary that `aviary version` and the daemon's `/metrics` report.
public let aviaryVersion = "0.1.0"
