/// The daemon's namespace until `aviary serve` lands in this target (issue 7).
public enum AviaryServer {}
